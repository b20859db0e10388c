// The spoke's usage sampler against a stand-in for the hub's `spoke.reportUsage` (the contract's input and
// output, over HTTP, through the spoke's own hub client), with the fake driver's counters: points sent in one
// call, kept while the hub does not take them (bounded), a FORBIDDEN batch resent without the capsuls it names,
// a BAD_REQUEST batch dropped, and a hub that never answers holding up nothing but the queue.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { initTRPC, TRPCError } from '@trpc/server';
import { createHTTPServer } from '@trpc/server/adapters/standalone';
import superjson from 'superjson';
import { reportUsageInput, reportUsageOutput, USAGE_POINTS_PER_BATCH, type ReportUsageInput } from '~/contract/usage';
import { log } from '~/lib/log';
import { createHubClient } from '~/spoke/hub-client';
import { FakeHypervisor } from '~/spoke/hypervisor/fake';
import { UsageSampler } from '~/spoke/usage/sampler';
import { until } from '../support/processes';

process.env.LOG_LEVEL = 'error';

type Answer = (input: ReportUsageInput) => Promise<{ stored: number }>;
const store: Answer = async (input) => ({ stored: input.points.length });

/** The hub's side as the contract has it; `answer` is what it does with each call. */
function standInHub() {
  const t = initTRPC.create({ transformer: superjson });
  const hub = {
    calls: [] as ReportUsageInput[],
    answer: store,
    url: '',
    close: () => {},
  };
  const router = t.router({
    spoke: t.router({
      reportUsage: t.procedure
        .input(reportUsageInput)
        .output(reportUsageOutput)
        .mutation(({ input }) => {
          hub.calls.push(input);
          return hub.answer(input);
        }),
    }),
  });
  const server = createHTTPServer({ router, basePath: '/api/trpc/' });
  return { hub, server };
}

const spec = { vcpus: 1, memoryMb: 512, diskGb: 5, image: 'x', imageFiles: { disk: 'x.qcow2' }, sshAuthorizedKeys: [] };

describe('usage sampler', () => {
  let stateDir: string;
  let fake: FakeHypervisor;
  let server: ReturnType<typeof standInHub>['server'];
  let hub: ReturnType<typeof standInHub>['hub'];

  before(async () => {
    stateDir = await mkdtemp(path.join(os.tmpdir(), 'capsul-usage-sampler-'));
    fake = new FakeHypervisor({ stateDir, memoryMb: 8192, diskGb: 100, createMs: 0, images: '*' });
    for (const id of ['capsul-ours000001', 'capsul-ours000002', 'capsul-moved00001']) await fake.create({ ...spec, operationId: crypto.randomUUID(), id }, log);
    ({ hub, server } = standInHub());
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    hub.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(async () => {
    server?.close();
    await rm(stateDir, { recursive: true, force: true });
  });

  const sampler = (timeoutMs = 2000) => {
    hub.calls = [];
    hub.answer = store;
    const client = createHubClient({ hubUrl: hub.url, hostId: 'kvm-1', hostToken: 'x', fetch, timeoutMs });
    return new UsageSampler({ counters: () => fake.usageCounters(), send: (points) => client.spoke.reportUsage.mutate({ points }), periodMs: 60_000, log });
  };
  const samples = async (s: UsageSampler, n: number) => {
    for (let i = 0; i < n; i++) {
      await new Promise((r) => setTimeout(r, 5));
      await s.sample();
    }
  };

  test('the first sample gives no point; later ones are sent, one call each when the hub answers', async () => {
    const s = sampler();
    await s.sample();
    await s.flush();
    assert.equal(hub.calls.length, 0, 'nothing to send after one sample');
    assert.equal(s.latest?.point, null);
    await samples(s, 1);
    await s.flush();
    assert.equal(hub.calls.length, 1);
    const [point] = hub.calls[0]!.points;
    assert.deepEqual(point!.capsuls.map((c) => c.id).sort(), ['capsul-moved00001', 'capsul-ours000001', 'capsul-ours000002']);
    assert.ok(point!.at instanceof Date && point!.seconds > 0);
    assert.equal(s.queued.length, 0, 'what was taken is dropped');
  });

  test('while the hub fails, points wait (the oldest dropped past a batch); then one call sends them all', async () => {
    const s = sampler();
    hub.answer = async () => {
      throw new TRPCError({ code: 'SERVICE_UNAVAILABLE', message: 'the hub is stopping' });
    };
    await samples(s, USAGE_POINTS_PER_BATCH + 6);
    await s.flush();
    assert.equal(s.queued.length, USAGE_POINTS_PER_BATCH);
    const oldestKept = s.queued[0]!.at;
    hub.calls = [];
    hub.answer = store;
    await samples(s, 1);
    await s.flush();
    assert.equal(s.queued.length, 0);
    assert.equal(hub.calls.length, 1, 'one call');
    assert.equal(hub.calls[0]!.points.length, USAGE_POINTS_PER_BATCH);
    assert.ok(hub.calls[0]!.points[0]!.at > oldestKept, 'the oldest were dropped for the newest');
  });

  test('FORBIDDEN naming capsuls: resent at once without them, and they are left out of later points', async () => {
    const s = sampler();
    await samples(s, 1);
    hub.answer = async (input) => {
      const foreign = [...new Set(input.points.flatMap((p) => p.capsuls.map((c) => c.id)).filter((id) => id === 'capsul-moved00001'))];
      // The message as src/hub/usage/ingest.ts words it.
      if (foreign.length) throw new TRPCError({ code: 'FORBIDDEN', message: `not capsuls of host kvm-1: ${foreign.join(', ')}; nothing stored` });
      return store(input);
    };
    await samples(s, 1);
    await s.flush();
    const ids = (call: ReportUsageInput) => [...new Set(call.points.flatMap((p) => p.capsuls.map((c) => c.id)))].sort();
    assert.deepEqual(hub.calls.map(ids), [
      ['capsul-moved00001', 'capsul-ours000001', 'capsul-ours000002'],
      ['capsul-ours000001', 'capsul-ours000002'],
    ]);
    assert.equal(s.queued.length, 0);
    await samples(s, 1);
    await s.flush();
    assert.deepEqual(ids(hub.calls.at(-1)!), ['capsul-ours000001', 'capsul-ours000002'], 'left out from then on');
    assert.equal(hub.calls.length, 3);
  });

  test('BAD_REQUEST (e.g. a point stamped in the hub\'s future): the batch is dropped, the next sent', async () => {
    const s = sampler();
    await samples(s, 1);
    hub.answer = async () => {
      throw new TRPCError({ code: 'BAD_REQUEST', message: 'a point is stamped in the future' });
    };
    await samples(s, 1);
    await s.flush();
    assert.equal(hub.calls.length, 1);
    assert.equal(s.queued.length, 0, 'dropped, not kept forever');
    hub.answer = store;
    await samples(s, 1);
    await s.flush();
    assert.equal(hub.calls.at(-1)!.points.length, 1);
  });

  test('a hub that never answers: one call at a time, sampling goes on, the deadline ends the call, nothing throws', async () => {
    const s = sampler(300);
    await samples(s, 1);
    let answered = 0;
    hub.answer = () => new Promise(() => {}); // never
    await samples(s, 3);
    assert.equal(hub.calls.length, 1, 'no second call while one is in flight');
    assert.equal(s.queued.length, 3, 'sampling went on');
    await s.flush(); // the call in flight, ended by the client's deadline
    assert.equal(s.queued.length, 3, 'kept');
    hub.answer = async (input) => (answered++, store(input));
    await samples(s, 1);
    await until('the queue sent once the hub answers', async () => (await s.flush(), s.queued.length === 0), 30_000, 50);
    assert.equal(answered, 1);
    assert.equal(hub.calls.at(-1)!.points.length, 4);
  });

  test('counters that cannot be read: no throw, no point; the next sample works', async () => {
    let broken = true;
    const client = createHubClient({ hubUrl: hub.url, hostId: 'kvm-1', hostToken: 'x', fetch, timeoutMs: 2000 });
    hub.calls = [];
    hub.answer = store;
    const s = new UsageSampler({
      counters: async () => {
        if (broken) throw new Error('virsh domstats: timed out');
        return fake.usageCounters();
      },
      send: (points) => client.spoke.reportUsage.mutate({ points }),
      periodMs: 60_000,
      log,
    });
    await s.sample();
    broken = false;
    await samples(s, 2);
    await s.flush();
    assert.equal(hub.calls.flatMap((c) => c.points).length, 1);
  });

  test('start and stop: samples every period, nothing after stop', async () => {
    const client = createHubClient({ hubUrl: hub.url, hostId: 'kvm-1', hostToken: 'x', fetch, timeoutMs: 2000 });
    hub.calls = [];
    hub.answer = store;
    const s = new UsageSampler({ counters: () => fake.usageCounters(), send: (points) => client.spoke.reportUsage.mutate({ points }), periodMs: 50, log });
    s.start();
    await until('two calls', async () => hub.calls.length >= 2, 10_000, 20);
    s.stop();
    await new Promise((r) => setTimeout(r, 100));
    const calls = hub.calls.length;
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(hub.calls.length, calls);
  });
});
