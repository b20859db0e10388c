// Usage history end to end: fake-driver spokes as separate processes sample their capsuls and send points to
// a hub process over HTTPS; the owner reads the graphs, another account cannot, admins read hosts, the
// fleet and the top capsuls; a spoke's batches that are bad (another host's capsul, malformed, oversized,
// stamped in the future) are refused and store nothing; a spoke restart leaves a gap, not a point spanning
// the time it was down; the spoke's /metrics exports per-capsul series.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import pg from 'pg';
import type { CapsulUsage, UsagePoint } from '~/contract/usage';
import { httpsFetch } from '~/lib/https-fetch';
import { createHubClient } from '~/spoke/hub-client';
import { signIn, type Session } from '../support/accounts';
import { createTestDatabase } from '../support/postgres';
import { allOnline, startHubProcess, startSpokeProcess, until, type Hub, type SpokeHandle } from '../support/processes';
import { refusal } from '../support/refusal';
import { makeTestTls, type TestTls } from '../support/tls';

const METRICS_TOKEN = 'm'.repeat(40);
const PERIOD_MS = 400;
const SPOKE_ENV = { USAGE_SAMPLE_PERIOD_MS: String(PERIOD_MS), METRICS_TOKEN, FAKE_CREATE_MS: '100' };

describe('usage history: sampling, graphs, access, bad batches, restarts (fake driver)', () => {
  let tls: TestTls;
  let database: Awaited<ReturnType<typeof createTestDatabase>>;
  let sql: pg.Client;
  let hub: Hub;
  let spokes: SpokeHandle[];
  let alice: Session;
  let bob: Session;
  let capsulId: string;
  let owner: SpokeHandle;

  const rows = async (where: string, params: unknown[] = []) => (await sql.query(`SELECT count(*)::int AS n FROM ${where}`, params)).rows[0].n as number;
  const hourOf = (session: Session, id = capsulId) => session.client.usage.capsul.query({ capsulId: id, range: 'hour' });
  const asHost = (s: { hostId: string; hostToken: string }) =>
    createHubClient({ hubUrl: hub.url, hostId: s.hostId, hostToken: s.hostToken, fetch: httpsFetch({ ca: readFileSync(tls.caFile) }), timeoutMs: 10_000 });

  before(async () => {
    tls = await makeTestTls();
    database = await createTestDatabase();
    sql = new pg.Client({ connectionString: database.url });
    await sql.connect();
    hub = await startHubProcess({ databaseUrl: database.url, tls, name: 'hub', env: { RECONCILE_PERIOD_MS: '3600000' } });
    spokes = [
      await startSpokeProcess({ hub, hostId: 'u1', tls, env: SPOKE_ENV }),
      await startSpokeProcess({ hub, hostId: 'u2', tls, env: SPOKE_ENV }),
    ];
    await allOnline(hub, ['u1', 'u2']);
    alice = await signIn(hub, tls, 'alice@example.com');
    bob = await signIn(hub, tls, 'bob@example.com');
    const created = await alice.client.capsul.create.mutate({ image: 'debian-12', size: 'nano' });
    capsulId = created.capsulId;
    const running = await until('the capsul running', async () => {
      const c = await alice.client.capsul.byId.query({ id: capsulId });
      return c.state === 'running' ? c : undefined;
    });
    owner = spokes.find((s) => s.hostId === running.hostId)!;
    assert.ok(owner, `the capsul is on ${running.hostId}`);
  });

  after(async () => {
    await sql?.end();
    for (const s of spokes ?? []) await s.proc.stop();
    await hub?.proc.stop();
    await database?.drop();
  });

  test("the owner's graphs fill with the spoke's points: plausible, simulated said plainly, the sample period known", async () => {
    const series = await until('three points of the capsul', async () => {
      const s = await hourOf(alice);
      return s.values.cpuPercent.filter((v) => v !== null).length >= 3 ? s : undefined;
    });
    assert.equal(series.simulated, true, 'a fake-driver host: the numbers are simulated');
    assert.equal(series.capsul.vcpus, 1);
    assert.ok(series.lastPointAt, 'the newest point');
    assert.ok(series.samplePeriodSeconds !== null && series.samplePeriodSeconds <= 1, `period ${series.samplePeriodSeconds} s`);
    for (const [i, cpu] of series.values.cpuPercent.entries()) {
      if (cpu === null) continue;
      assert.ok(cpu >= 0 && cpu <= 100, `cpu ${cpu}`);
      assert.ok(series.values.memoryBytes[i]! > 0 && series.values.memoryBytes[i]! <= 512 * 1024 * 1024 * 1.1, `memory ${series.values.memoryBytes[i]}`);
      for (const m of ['netInBps', 'netOutBps', 'diskReadBps', 'diskWriteBps'] as const) assert.ok(series.values[m][i]! >= 0, `${m} ≥ 0`);
    }
    const at = series.at.filter((_, i) => series.values.cpuPercent[i] !== null);
    assert.deepEqual(at, [...at].sort((a, b) => a - b), 'in time order');
    // Every range answers in its shape (the day is 5-minute steps; month and year wait for rollups).
    for (const range of ['day', 'month', 'year'] as const) {
      const s = await alice.client.usage.capsul.query({ capsulId, range });
      assert.equal(s.at.length, s.values.cpuPercent.length);
      assert.ok(s.stepSeconds > 0);
    }
  });

  test("only the owner and admins read a capsul's graphs; hosts, the fleet and the top capsuls are for admins", async () => {
    for (const range of ['hour', 'day', 'month', 'year'] as const) {
      const err = await refusal(bob.client.usage.capsul.query({ capsulId, range }));
      assert.equal(err.data?.code, 'NOT_FOUND', `another account, ${range}`);
      assert.doesNotMatch(err.message, /cpu|memory/i);
    }
    assert.equal((await refusal(bob.client.usage.host.query({ range: 'hour' }))).data?.code, 'FORBIDDEN');
    assert.equal((await refusal(bob.client.usage.host.query({ hostId: owner.hostId, range: 'day' }))).data?.code, 'FORBIDDEN');
    assert.equal((await refusal(bob.client.usage.top.query({ range: 'hour' }))).data?.code, 'FORBIDDEN');
    assert.equal((await refusal(alice.client.usage.top.query({ range: 'day' }))).data?.code, 'FORBIDDEN', 'owning a capsul is not being an admin');
    assert.equal((await refusal(bob.client.usage.capsul.query({ capsulId: 'capsul-$(reboot)', range: 'hour' }))).data?.code, 'BAD_REQUEST');

    assert.ok((await hub.admin.usage.capsul.query({ capsulId, range: 'hour' })).values.cpuPercent.some((v) => v !== null), 'an admin reads it');
    const host = await until(`host ${owner.hostId} has points`, async () => {
      const s = await hub.admin.usage.host.query({ hostId: owner.hostId, range: 'hour' });
      return s.values.memoryTotalBytes.some((v) => v !== null) ? s : undefined;
    });
    const i = host.values.memoryCommittedBytes.findLastIndex((v) => v !== null);
    assert.ok(host.values.memoryCommittedBytes[i]! >= 512 * 1024 * 1024 * 0.99, 'the capsul is committed on its host');
    const fleet = await hub.admin.usage.host.query({ range: 'hour' });
    assert.ok(fleet.values.memoryTotalBytes.some((v) => v !== null && v >= host.values.memoryTotalBytes[i]!), 'the fleet is at least the host');
    assert.equal((await refusal(hub.admin.usage.host.query({ hostId: 'nosuch', range: 'hour' }))).data?.code, 'NOT_FOUND');
    const top = await hub.admin.usage.top.query({ range: 'hour', limit: 5 });
    assert.deepEqual(top.byCpu.map((c) => c.id), [capsulId]);
    assert.equal(top.byCpu[0]!.ownerEmail, 'alice@example.com');
    assert.deepEqual(top.byTraffic.map((c) => c.id), [capsulId]);
  });

  test('bad batches from a spoke are refused and store nothing: another host\'s capsul, malformed, oversized, stamped in the future', async () => {
    // A third host, registered but sending by hand: its rows can only come from these calls.
    const added = await hub.admin.host.add.mutate({ id: 'u3', httpsUrl: 'https://127.0.0.1:9' });
    const u3 = asHost({ hostId: 'u3', hostToken: added.token });
    const host = { cpuPercent: 1, memoryUsedBytes: 1, memoryTotalBytes: 2, diskUsedBytes: 1, diskTotalBytes: 2 };
    const rates = (id: string): CapsulUsage => ({ id, cpuPercent: 1, memoryBytes: 1, netInBps: 0, netOutBps: 0, diskReadBps: 0, diskWriteBps: 0 });
    const point = (capsuls: CapsulUsage[], at = new Date()): UsagePoint => ({ at, seconds: 15, host, capsuls });
    const stored = async () => ({ host: await rows(`"HostUsage" WHERE "hostId" = 'u3'`), capsul: await rows(`"CapsulUsage" WHERE "memoryBytes" = 1`) });
    const before = await stored();

    const other = await refusal(u3.spoke.reportUsage.mutate({ points: [point([rates(capsulId)])] }));
    assert.equal(other.data?.code, 'FORBIDDEN');
    assert.match(other.message, new RegExp(`not capsuls of host u3: ${capsulId}`));
    const future = await refusal(u3.spoke.reportUsage.mutate({ points: [point([]), point([], new Date(Date.now() + 3_600_000))] }));
    assert.equal(future.data?.code, 'BAD_REQUEST');
    assert.match(future.message, /ahead of the hub's clock/);
    const bad: [string, unknown][] = [
      ['no points', { points: [] }],
      ['61 points', { points: Array.from({ length: 61 }, () => point([])) }],
      ['2001 capsuls in a point', { points: [point(Array.from({ length: 2001 }, (_, i) => rates(`capsul-${String(i).padStart(10, '0')}`)))] }],
      ['CPU above 100 %', { points: [point([{ ...rates(capsulId), cpuPercent: 250 }])] }],
      ['a negative rate', { points: [point([{ ...rates(capsulId), netInBps: -5 }])] }],
      ['NaN', { points: [point([{ ...rates(capsulId), memoryBytes: Number.NaN }])] }],
      ['a shell in the id', { points: [point([rates('capsul-$(reboot)')])] }],
      ['a string for a time', { points: [{ ...point([]), at: 'yesterday' }] }],
      ['no host part', { points: [{ at: new Date(), seconds: 15, capsuls: [] }] }],
      ['an interval of zero', { points: [{ ...point([]), seconds: 0 }] }],
    ];
    for (const [what, input] of bad) {
      const err = await refusal(u3.spoke.reportUsage.mutate(input as never));
      assert.equal(err.data?.code, 'BAD_REQUEST', what);
    }
    const forged = await refusal(createHubClient({ hubUrl: hub.url, hostId: 'u3', hostToken: 'x'.repeat(43), fetch: httpsFetch({ ca: readFileSync(tls.caFile) }), timeoutMs: 5000 }).spoke.reportUsage.mutate({ points: [point([])] }));
    assert.equal(forged.data?.code, 'UNAUTHORIZED', 'a wrong host token');
    assert.deepEqual(await stored(), before, 'nothing stored');

    assert.deepEqual(await u3.spoke.reportUsage.mutate({ points: [point([])] }), { stored: 0 }, 'a good batch with no capsuls stores the host point');
    assert.equal((await stored()).host, before.host + 1);
  });

  test('a spoke restart leaves a gap in the graph, not a point spanning the time it was down; /metrics has per-capsul series', async () => {
    const metrics = await (await httpsFetch({ ca: readFileSync(tls.caFile) })(`${owner.url}/metrics`, { headers: { authorization: `Bearer ${METRICS_TOKEN}` } })).text();
    for (const name of ['capsul_spoke_capsul_cpu_seconds_total', 'capsul_spoke_capsul_memory_bytes', 'capsul_spoke_capsul_network_bytes_total', 'capsul_spoke_capsul_disk_bytes_total']) {
      assert.match(metrics, new RegExp(`^${name}\\{[^}]*capsul="${capsulId}"[^}]*\\} \\d`, 'm'), `${name} for the capsul`);
    }
    assert.match(metrics, new RegExp(`^capsul_spoke_capsul_network_bytes_total\\{[^}]*direction="in"`, 'm'));

    await owner.proc.stop();
    const downAt = Date.now();
    await new Promise((r) => setTimeout(r, 8 * PERIOD_MS));
    const restarted = await startSpokeProcess({ hub, hostId: owner.hostId, tls, env: SPOKE_ENV, port: owner.port, hostToken: owner.hostToken, hubToken: owner.hubToken, stateDir: owner.stateDir });
    spokes = spokes.map((s) => (s === owner ? restarted : s));
    owner = restarted;
    const upAt = Date.now();
    const series = await until('two points after the restart', async () => {
      const s = await hourOf(alice);
      const after = s.at.filter((t, i) => t * 1000 > upAt && s.values.cpuPercent[i] !== null);
      return after.length >= 2 ? s : undefined;
    });
    const gap = series.at.findIndex((t, i) => series.values.cpuPercent[i] === null && t * 1000 > downAt - 2 * PERIOD_MS);
    assert.ok(gap > 0, 'a null where the spoke was down');
    const longest = (await sql.query(`SELECT max(seconds)::float8 AS s FROM "CapsulUsage" WHERE "capsulId" = $1`, [capsulId])).rows[0].s as number;
    assert.ok(longest < 3 * PERIOD_MS / 1000, `no point covers the downtime: the longest covers ${longest} s`);
  });
});
