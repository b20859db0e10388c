// Two hubs on one PostgreSQL: periodic work runs in one of them at a time (an advisory lock), claims stay
// exactly-once whichever hub a create goes through, and when the leading hub dies the other takes over.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { recordFigures } from '../support/figures';
import { createTestDatabase } from '../support/postgres';
import { allOnline, startHubProcess, startSpokeProcess, until, type Hub, type SpokeHandle } from '../support/processes';
import { makeTestTls, type TestTls } from '../support/tls';

const leads = (hub: Hub) => hub.proc.logs().includes('"msg":"leader: this hub runs the periodic work');
const heartbeatRounds = (hub: Hub) => hub.proc.logs().split('\n').filter((l) => l.includes('"msg":"heartbeat')).length;

describe('fault: several hubs on one database', () => {
  let tls: TestTls;
  let database: Awaited<ReturnType<typeof createTestDatabase>>;
  let a: Hub;
  let b: Hub;
  let spokes: SpokeHandle[] = [];

  before(async () => {
    tls = await makeTestTls();
    database = await createTestDatabase();
    a = await startHubProcess({ databaseUrl: database.url, tls, name: 'hub-a' });
    await a.proc.waitFor((l) => String(l.msg).startsWith('leader: this hub'), 20_000);
    // Hub b shares a's tokens, as two instances of one hub do; the spokes call back to b.
    b = await startHubProcess({ databaseUrl: database.url, tls, name: 'hub-b', same: { ...a, dataDir: a.dataDir } });
    spokes = await Promise.all(['m1', 'm2', 'm3'].map((hostId) => startSpokeProcess({ hub: b, hostId, tls })));
    await allOnline(b, ['m1', 'm2', 'm3']);
  });
  after(async () => {
    await Promise.all(spokes.map((s) => s.proc.stop()));
    await a?.proc.stop();
    await b?.proc.stop();
    await database?.drop();
  });

  test('one leader; creates through both hubs each get exactly one owner', async () => {
    assert.ok(leads(a));
    assert.ok(!leads(b), 'b waits');
    const created = await Promise.all(
      Array.from({ length: 40 }, (_, i) => (i % 2 ? a : b).admin.capsul.create.mutate({ owner: 'two@example.com', image: 'debian-12', size: 'nano' })),
    );
    const ops = await a.admin.operation.list.query({ kind: 'create', limit: 500 });
    for (const c of created) {
      const op = ops.find((o) => o.id === c.operationId)!;
      assert.deepEqual(op.hostOperations.filter((h) => h.assignmentStatus === 'assigned').map((h) => h.hostId), [c.hostId]);
    }
    await until('all running', async () => (await b.admin.capsul.list.query({})).filter((c) => c.state === 'running').length === 40, 30_000);
  });

  test('the leader dies: the other hub takes over the periodic work and the hosts stay online', async () => {
    await a.proc.kill();
    const killed = Date.now();
    await b.proc.waitFor((l) => String(l.msg).startsWith('leader: this hub'), 30_000);
    const takeover = Date.now() - killed;
    const before = heartbeatRounds(b);
    const hosts = await allOnline(b, ['m1', 'm2', 'm3']);
    assert.equal(hosts.length, 3);
    // b now runs the heartbeat rounds: stop a spoke and b notices.
    await spokes[0]!.proc.stop();
    await until('b marks m1 failing', async () => !!(await b.admin.host.list.query()).find((h) => h.id === 'm1')?.lastError, 20_000);
    assert.ok(heartbeatRounds(b) > before);
    await recordFigures('multi-hub', {
      fault: 'kill -9 of the leading hub of two on one PostgreSQL',
      faultsInjected: 1,
      operations: 40,
      lost: 0,
      doubled: 0,
      worstRecoveryMs: takeover,
      notes: `40 creates through both hubs, one owner each; the other hub led ${takeover} ms after the kill (it retries the lock every heartbeat period; PostgreSQL frees the lock when the dead hub's connection drops)`,
    });
  });
});
