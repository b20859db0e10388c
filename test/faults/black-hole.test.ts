// A spoke that accepts connections and never answers (SIGSTOP: the kernel still accepts, the process does
// not run) costs a fan-out its per-host deadline and delays no other host's result.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { recordFigures } from '../support/figures';
import { createTestDatabase } from '../support/postgres';
import { allOnline, startHubProcess, startSpokeProcess, type Hub, type SpokeHandle } from '../support/processes';
import { makeTestTls, type TestTls } from '../support/tls';

const DEADLINE = 1500;

describe('fault: a spoke that never answers', () => {
  let tls: TestTls;
  let database: Awaited<ReturnType<typeof createTestDatabase>>;
  let hub: Hub;
  let spokes: SpokeHandle[] = [];

  before(async () => {
    tls = await makeTestTls();
    database = await createTestDatabase();
    hub = await startHubProcess({ databaseUrl: database.url, tls, env: { SPOKE_CALL_TIMEOUT_MS: String(DEADLINE), ONLINE_WINDOW_MS: '60000' } });
    spokes = await Promise.all(['b1', 'b2', 'b3'].map((hostId) => startSpokeProcess({ hub, hostId, tls })));
    await allOnline(hub, ['b1', 'b2', 'b3']);
    // Open keep-alive connections to every spoke first, as a running hub has them.
    await hub.admin.fleet.list.mutate();
  });
  after(async () => {
    spokes[1]?.proc.child.kill('SIGCONT');
    await Promise.all(spokes.map((s) => s.proc.stop()));
    await hub?.proc.stop();
    await database?.drop();
  });

  test('list and capacity answer within the deadline, name the silent host, and keep the others\' results', async () => {
    const silent = spokes[1]!;
    silent.proc.child.kill('SIGSTOP');
    const times: number[] = [];
    try {
      for (let i = 0; i < 5; i++) {
        const started = performance.now();
        const list = await hub.admin.fleet.list.mutate();
        times.push(performance.now() - started);
        assert.deepEqual(list.answered.sort(), ['b1', 'b3']);
        assert.deepEqual(list.failed, [{ hostId: 'b2', status: 'no_response_from_host', reason: `no answer within ${DEADLINE} ms` }]);
        const started2 = performance.now();
        const capacity = await hub.admin.fleet.capacity.mutate({ memoryMb: 512, diskGb: 10 });
        times.push(performance.now() - started2);
        assert.deepEqual(capacity.hosts.map((h) => h.hostId).sort(), ['b1', 'b3']);
        assert.equal(capacity.failed[0]?.hostId, 'b2');
      }
      // A create is not held up by it either: offered to all three, it goes to one of the two that answer.
      const created = await hub.admin.capsul.create.mutate({ owner: 'hole@example.com', image: 'debian-12', size: 'nano' });
      assert.notEqual(created.hostId, 'b2');
      assert.deepEqual(created.hosts.find((h) => h.hostId === 'b2'), { hostId: 'b2', status: 'no_response_from_host', reason: `no answer within ${DEADLINE} ms` });
    } finally {
      silent.proc.child.kill('SIGCONT');
    }
    const worst = Math.max(...times);
    // The deadline plus the hub's own work (recording the operation), measured end to end through HTTPS.
    assert.ok(worst < DEADLINE + 500, `worst ${worst.toFixed(0)} ms`);
    await recordFigures('black-hole', {
      fault: 'one of three spokes stopped with SIGSTOP (accepts connections, never answers)',
      faultsInjected: 1,
      operations: times.length + 1,
      lost: 0,
      doubled: 0,
      worstRecoveryMs: Math.round(worst),
      notes: `fan-outs answered in ${Math.round(Math.min(...times))}–${Math.round(worst)} ms with a ${DEADLINE} ms per-host deadline (client-side, through the hub's HTTPS API), naming b2; the other hosts' results intact`,
    });
  });
});
