// The leader loop when its connection goes, in-process on PostgreSQL (on PGlite one hub leads by
// construction). pg emits `error` and then `end` for a dropped connection, and a replaced client can still
// emit events late: whatever arrives, in whatever order, there is one loop, one connection at a time, and the
// periodic work runs once.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import pg from 'pg';
import { LEADER_LOCK_KEY, leadWhileHoldingLock } from '~/hub/leader';
import type { Logger } from '~/lib/log';
import { registry } from '~/lib/metrics';
import { createTestDatabase } from '../support/postgres';
import { until } from '../support/processes';

const RETRY_MS = 200;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function gaugeValue(name: string): Promise<number | undefined> {
  return (await registry.getSingleMetric(name)?.get())?.values[0]?.value;
}

describe('leader loop on PostgreSQL', () => {
  let database: Awaited<ReturnType<typeof createTestDatabase>>;
  let observer: pg.Client;
  let leadership: ReturnType<typeof leadWhileHoldingLock>;
  // Every client the leader connects (counted through pg's prototype, set up after the observer connected).
  const clients: pg.Client[] = [];
  const connect = pg.Client.prototype.connect;
  const messages: string[] = [];
  let started = 0;
  let stopped = 0;

  const logger: Logger = {
    debug: () => {},
    info: (msg) => void messages.push(msg),
    warn: (msg) => void messages.push(msg),
    error: (msg) => void messages.push(msg),
    child: () => logger,
  };
  const lockHolders = async () =>
    (await observer.query<{ pid: number }>("SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND objid = $1 AND granted", [LEADER_LOCK_KEY])).rows.map((r) => r.pid);
  const leadsAgain = (times: number) => until(`leading (time ${times})`, async () => leadership.isLeader() && started === times && (await lockHolders()).length === 1, 30_000, 20);

  before(async () => {
    database = await createTestDatabase();
    observer = new pg.Client({ connectionString: database.url });
    await observer.connect();
    pg.Client.prototype.connect = function (this: pg.Client, ...args: unknown[]) {
      clients.push(this);
      return (connect as (...a: unknown[]) => unknown).apply(this, args);
    } as typeof connect;
    leadership = leadWhileHoldingLock({
      databaseUrl: database.url,
      retryMs: RETRY_MS,
      log: logger,
      lead: () => {
        started++;
        return () => void stopped++;
      },
    });
    await leadsAgain(1);
  });
  after(async () => {
    pg.Client.prototype.connect = connect;
    await leadership?.stop();
    await observer?.end();
    await database?.drop();
  });

  test('the leader session is terminated: one reconnect, the work runs again once, one loop', async () => {
    assert.equal(clients.length, 1);
    await observer.query('SELECT pg_terminate_backend(pid) FROM pg_locks WHERE locktype = $1 AND objid = $2 AND granted', ['advisory', LEADER_LOCK_KEY]);
    await leadsAgain(2);
    await sleep(6 * RETRY_MS);
    assert.equal(clients.length, 2, 'one new connection, not one per event');
    assert.deepEqual([started, stopped], [2, 1]);
    assert.equal((await lockHolders()).length, 1);
    assert.equal(messages.filter((m) => m.startsWith('leader: this hub runs the periodic work')).length, 2);
    assert.equal(messages.filter((m) => m.startsWith('leader: lost the lock')).length, 1);
    assert.equal(await gaugeValue('capsul_leader'), 1);
    assert.equal(await gaugeValue('capsul_leader_loops'), 1);
  });

  test('late events from the replaced client change nothing', async () => {
    const holder = await lockHolders();
    clients[0]!.emit('error', new Error('late error from an old connection'));
    clients[0]!.emit('end');
    await sleep(4 * RETRY_MS);
    assert.ok(leadership.isLeader());
    assert.deepEqual([clients.length, started, stopped], [2, 2, 1]);
    assert.deepEqual(await lockHolders(), holder);
  });

  test('end before error on the current client: one retry loop still', async () => {
    const current = clients.at(-1)!;
    current.emit('end');
    current.emit('error', new Error('error after end'));
    await leadsAgain(3);
    await sleep(6 * RETRY_MS);
    assert.deepEqual([clients.length, started, stopped], [3, 3, 2]);
    assert.equal((await lockHolders()).length, 1);
    assert.equal(await gaugeValue('capsul_leader'), 1);
    assert.equal(await gaugeValue('capsul_leader_loops'), 1);
  });

  test('stop: the work stops, the lock is released, no loop is left', async () => {
    await leadership.stop();
    assert.deepEqual([started, stopped], [3, 3]);
    assert.deepEqual(await lockHolders(), []);
    assert.equal(await gaugeValue('capsul_leader'), 0);
    assert.equal(await gaugeValue('capsul_leader_loops'), 0);
    await sleep(3 * RETRY_MS);
    assert.equal(clients.length, 3);
  });
});
