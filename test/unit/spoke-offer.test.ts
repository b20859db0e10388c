// How a spoke answers offers in a burst: it never promises the same room twice, and it does not turn an
// offer down for room that is only held by claims still out.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdir, mkdtemp, readdir, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, test } from 'node:test';
import { TRPCClientError } from '@trpc/client';
import type { CreateInput } from '~/contract/spoke';
import { log } from '~/lib/log';
import { FakeHypervisor } from '~/spoke/hypervisor/fake';
import type { HubClient } from '~/spoke/hub-client';
import { Outbox } from '~/spoke/outbox';
import { Spoke } from '~/spoke/spoke';

process.env.LOG_LEVEL = 'error';

function offer(i: number): CreateInput {
  return { operationId: randomUUID(), id: `capsul-burst${String(i).padStart(5, '0')}`, vcpus: 1, memoryMb: 1024, diskGb: 10, image: 'debian-12', imageFiles: { disk: 'd.qcow2' }, sshAuthorizedKeys: [] };
}

async function spokeWith(memoryMb: number, wins: (spec: CreateInput) => boolean, opts: { dir?: string; specs?: Map<string, CreateInput> } = {}) {
  const dir = opts.dir ?? (await mkdtemp(path.join(os.tmpdir(), 'spoke-offer-')));
  const hypervisor = new FakeHypervisor({ stateDir: dir, memoryMb, diskGb: 1000, createMs: 50, images: '*' });
  const specs = opts.specs ?? new Map<string, CreateInput>();
  const delivered: string[] = [];
  const hub = {
    spoke: {
      claimOperation: {
        mutate: async ({ operationId }: { operationId: string }) => {
          await new Promise((r) => setTimeout(r, 20));
          const spec = specs.get(operationId)!;
          if (wins(spec)) return spec;
          throw new TRPCClientError('taken', { result: { error: { message: 'taken', code: -32009, data: { code: 'CONFLICT' } } } as never });
        },
      },
      completeOperation: { mutate: async () => ({ acknowledged: true }) },
    },
  } as unknown as HubClient;
  const outbox = new Outbox(path.join(dir, 'outbox'), async (c) => (delivered.push(c.operationId), 'acknowledged'), log);
  await outbox.start();
  const spoke = new Spoke(hypervisor, hub, outbox, log, path.join(dir, 'builds'));
  const recovered = await spoke.recoverInterruptedBuilds();
  return { spoke, specs, hypervisor, outbox, dir, delivered, recovered };
}

describe('a spoke in a burst of offers', () => {
  test('room for two, six offers at once, three of which it could win: it wins two and never over-commits', async () => {
    const { spoke, specs, hypervisor, outbox } = await spokeWith(2048, (s) => Number(s.id.slice(-1)) % 2 === 0);
    const offers = Array.from({ length: 6 }, (_, i) => offer(i));
    for (const o of offers) specs.set(o.operationId, o);
    const answers = await Promise.all(offers.map((o) => spoke.offer(o)));
    // 0 and 1 take the room while their claims are out; 2-5 wait for them rather than give up. 1 goes to
    // another host, so 2 gets its room and wins; then the room is really full.
    assert.deepEqual(answers.map((a) => a.assignmentStatus), ['assigned', 'assigned_to_other_host', 'assigned', 'not_applicable', 'not_applicable', 'not_applicable']);
    assert.match(answers[4]!.reason ?? '', /not enough room/);
    await spoke.settle();
    assert.ok((await hypervisor.resources()).freeMemoryMb >= 0, 'never more promised than there is');
    outbox.stop();
  });

  test('room for one: an offer waits for a claim still out rather than giving up on room that comes back', async () => {
    const { spoke, specs, outbox } = await spokeWith(1024, (s) => s.id.endsWith('1'));
    const [lost, won] = [offer(0), offer(1)];
    specs.set(lost.operationId, lost);
    specs.set(won.operationId, won);
    const answers = await Promise.all([spoke.offer(lost), spoke.offer(won)]);
    assert.deepEqual(answers.map((a) => a.assignmentStatus), ['assigned_to_other_host', 'assigned']);
    await spoke.settle();
    outbox.stop();
  });

  test('the journal is written while the claim is out: the won one is there when the spoke answers, a lost one is removed', async () => {
    const { spoke, specs, outbox, dir } = await spokeWith(4096, (s) => s.id.endsWith('1'));
    const [lost, won] = [offer(0), offer(1)];
    specs.set(lost.operationId, lost);
    specs.set(won.operationId, won);
    const answers = await Promise.all([spoke.offer(lost), spoke.offer(won)]);
    assert.deepEqual(answers.map((a) => a.assignmentStatus), ['assigned_to_other_host', 'assigned']);
    assert.ok((await readdir(path.join(dir, 'builds'))).includes(`${won.operationId}.json`), 'the won build is journaled before "assigned" goes back');
    await spoke.settle();
    assert.deepEqual(await readdir(path.join(dir, 'builds')), [], 'the lost claim\'s journal is removed, the won one once its build is reported');
    outbox.stop();
  });

  test('after a crash mid-claim, a restarted spoke asks the hub: it drops the journal of a claim another host won and reports its own', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'spoke-offer-'));
    const [lost, won] = [offer(0), offer(1)];
    const specs = new Map([[lost.operationId, lost], [won.operationId, won]]);
    // What a spoke killed while both claims were out leaves behind: two journals, no answers.
    await mkdir(path.join(dir, 'builds'), { recursive: true });
    for (const o of [lost, won]) await writeFile(path.join(dir, 'builds', `${o.operationId}.json`), JSON.stringify(o));
    const { outbox, delivered, recovered } = await spokeWith(4096, (s) => s.id.endsWith('1'), { dir, specs });
    assert.equal(recovered, 1, 'one interrupted build reported');
    for (let i = 0; i < 50 && delivered.length === 0; i++) await new Promise((r) => setTimeout(r, 20));
    assert.deepEqual(delivered, [won.operationId], 'only the claim this host won is reported (failed: nothing was built)');
    assert.deepEqual(await readdir(path.join(dir, 'builds')), [], 'both journals are gone');
    outbox.stop();
  });
});
