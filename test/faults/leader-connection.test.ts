// The leading hub loses its leader connection while it lives (pg_terminate_backend on its session, found by
// its application_name): it leads again within a few retry periods, with exactly one leadership loop and one
// session holding the lock, period after period.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import pg from 'pg';
import { LEADER_LOCK_KEY, leaderApplicationName } from '~/hub/leader';
import { recordFigures } from '../support/figures';
import { createTestDatabase } from '../support/postgres';
import { freePort, startHubProcess, until, type Hub } from '../support/processes';
import { makeTestTls, type TestTls } from '../support/tls';

// startHubProcess's HEARTBEAT_PERIOD_MS, which is also the leader's retry period.
const PERIOD_MS = 1000;
// One period of waiting, then a connect and one statement: a few periods is ample even on a loaded machine.
const RELEAD_BOUND_MS = 5 * PERIOD_MS;

describe('fault: the leader connection is killed while the hub lives', () => {
  let tls: TestTls;
  let database: Awaited<ReturnType<typeof createTestDatabase>>;
  let hub: Hub;
  let observer: pg.Client;
  let metricsUrl: string;

  const metric = async (name: string) => {
    const text = await (await fetch(metricsUrl)).text();
    const line = text.split('\n').find((l) => l.startsWith(`${name} `));
    return line === undefined ? undefined : Number(line.slice(name.length + 1));
  };
  const leaderSessions = async () =>
    (await observer.query<{ pid: number }>('SELECT pid FROM pg_stat_activity WHERE application_name = $1', [leaderApplicationName(hub.proc.child.pid)])).rows.map((r) => r.pid);
  const lockHolders = async () =>
    (await observer.query<{ pid: number }>("SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND objid = $1 AND granted AND database = (SELECT oid FROM pg_database WHERE datname = current_database())", [LEADER_LOCK_KEY])).rows.map((r) => r.pid);
  const takes = () => hub.proc.logs().split('\n').filter((l) => l.includes('"msg":"leader: this hub runs the periodic work')).length;
  const losses = () => hub.proc.logs().split('\n').filter((l) => l.includes('"msg":"leader: lost the lock')).length;

  before(async () => {
    tls = await makeTestTls();
    database = await createTestDatabase();
    const metricsPort = await freePort();
    metricsUrl = `http://127.0.0.1:${metricsPort}/metrics`;
    hub = await startHubProcess({ databaseUrl: database.url, tls, env: { METRICS_ADDRESS: `127.0.0.1:${metricsPort}` } });
    await hub.proc.waitFor((l) => String(l.msg).startsWith('leader: this hub runs the periodic work'), 20_000);
    observer = new pg.Client({ connectionString: database.url });
    await observer.connect();
  });
  after(async () => {
    await observer?.end();
    await hub?.proc.stop();
    await database?.drop();
  });

  test('terminated twice: the hub leads again each time, one loop, one lock holder', async () => {
    let worst = 0;
    for (let round = 1; round <= 2; round++) {
      const sessions = await leaderSessions();
      assert.equal(sessions.length, 1, `round ${round}: one leader session, named`);
      assert.deepEqual(await lockHolders(), sessions, 'that session holds the lock');
      assert.equal(await metric('capsul_leader'), 1);

      const killed = Date.now();
      await observer.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1', [leaderApplicationName(hub.proc.child.pid)]);
      await until(`round ${round}: the hub leads again`, async () => {
        const holders = await lockHolders();
        return holders.length === 1 && !sessions.includes(holders[0]!) && (await metric('capsul_leader')) === 1;
      }, RELEAD_BOUND_MS, 50);
      worst = Math.max(worst, Date.now() - killed);

      // Several periods later, still one loop, one session, one holder: no second loop trying beside it.
      const watchUntil = Date.now() + 4 * PERIOD_MS;
      while (Date.now() < watchUntil) {
        assert.equal(await metric('capsul_leader_loops'), 1, `round ${round}: one leadership loop`);
        assert.equal(await metric('capsul_leader'), 1);
        assert.equal((await lockHolders()).length, 1);
        assert.equal((await leaderSessions()).length, 1, 'no other connection of this hub comes and goes');
        await new Promise((r) => setTimeout(r, 100));
      }
      assert.equal(takes(), round + 1, 'a log line each time it takes the lock');
      assert.equal(losses(), round, 'and each time it loses it');
    }
    assert.equal(hub.proc.child.exitCode, null, 'the hub lived through it');
    await recordFigures('leader-connection', {
      fault: "pg_terminate_backend of the leading hub's leader session (twice), the hub alive",
      faultsInjected: 2,
      operations: 0,
      lost: 0,
      doubled: 0,
      worstRecoveryMs: worst,
      notes: `the hub led again within ${worst} ms (retry period ${PERIOD_MS} ms); one leadership loop and one lock holder throughout`,
    });
  });
});
