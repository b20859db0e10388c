// 20 spokes race for each of 500 creates, on PostgreSQL: every create ends with exactly one owner, none is
// lost, none is doubled.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import pg from 'pg';
import { recordFigures } from '../support/figures';
import { createTestDatabase } from '../support/postgres';
import { allOnline, startHubProcess, startSpokeProcess, until, type Hub, type SpokeHandle } from '../support/processes';
import { makeTestTls, type TestTls } from '../support/tls';

const SPOKES = Array.from({ length: 20 }, (_, i) => `storm-${String(i + 1).padStart(2, '0')}`);
const CREATES = Number(process.env.STORM_CREATES ?? 500);
const AT_ONCE = 25;

describe('fault: 20 spokes racing claims for 500 creates', () => {
  let tls: TestTls;
  let database: Awaited<ReturnType<typeof createTestDatabase>>;
  let hub: Hub;
  const spokes: SpokeHandle[] = [];

  before(async () => {
    tls = await makeTestTls();
    database = await createTestDatabase();
    hub = await startHubProcess({ databaseUrl: database.url, tls, env: { SPOKE_CALL_TIMEOUT_MS: '30000', ONLINE_WINDOW_MS: '120000', HEARTBEAT_PERIOD_MS: '5000' } });
    for (let i = 0; i < SPOKES.length; i += 5) {
      spokes.push(...(await Promise.all(SPOKES.slice(i, i + 5).map((hostId) => startSpokeProcess({ hub, hostId, tls, env: { FAKE_MEMORY_MB: '10000000', FAKE_DISK_GB: '10000000', FAKE_CREATE_MS: '50' } })))));
    }
    await allOnline(hub, SPOKES, 60_000);
  });
  after(async () => {
    await Promise.all(spokes.map((s) => s.proc.stop()));
    await hub?.proc.stop();
    await database?.drop();
  });

  test('0 double owners, 0 lost', async () => {
    const latencies: number[] = [];
    const results: { capsulId: string; operationId: string; hostId: string }[] = [];
    let next = 0;
    const started = Date.now();
    await Promise.all(
      Array.from({ length: AT_ONCE }, async () => {
        while (next < CREATES) {
          next++;
          const t = Date.now();
          results.push(await hub.admin.capsul.create.mutate({ owner: 'storm@example.com', image: 'debian-12', size: 'nano' }));
          latencies.push(Date.now() - t);
        }
      }),
    );
    const seconds = (Date.now() - started) / 1000;
    assert.equal(results.length, CREATES);

    const sql = new pg.Client({ connectionString: database.url });
    await sql.connect();
    try {
      await until('every create completed', async () => {
        const { rows } = await sql.query(`SELECT (SELECT count(*)::int FROM "Operation" WHERE kind = 'create' AND state = 'completed') AS n,
                                                 (SELECT count(*)::int FROM "HostOperation" WHERE "assignmentStatus" = 'pending') AS waiting`);
        return rows[0].n === CREATES && rows[0].waiting === 0;
      }, 120_000, 500);
      const perOp = (await sql.query(`
        SELECT o.id, o."hostId",
               count(*) FILTER (WHERE h."assignmentStatus" = 'assigned')::int AS owners,
               count(*) FILTER (WHERE h."assignmentStatus" = 'assigned_to_other_host')::int AS others,
               count(*)::int AS offered
          FROM "Operation" o JOIN "HostOperation" h ON h."operationId" = o.id
         WHERE o.kind = 'create' GROUP BY o.id, o."hostId"`)).rows as { id: string; hostId: string; owners: number; others: number; offered: number }[];
      assert.equal(perOp.length, CREATES);
      const doubled = perOp.filter((r) => r.owners !== 1).length;
      assert.equal(doubled, 0, 'exactly one owner each');
      for (const r of perOp) {
        assert.equal(r.offered, SPOKES.length, 'offered to every spoke');
        assert.equal(r.others, SPOKES.length - 1, 'every other spoke recorded assigned_to_other_host');
      }
      const fleet = await hub.admin.fleet.list.mutate();
      const seen = new Map<string, number>();
      for (const c of fleet.capsuls) seen.set(c.id, (seen.get(c.id) ?? 0) + 1);
      const lost = results.filter((r) => fleet.capsuls.find((c) => c.id === r.capsulId)?.hostId !== r.hostId).length;
      assert.equal(lost, 0, 'every capsul on the host that owns it');
      assert.equal([...seen.values()].filter((n) => n > 1).length, 0, 'no capsul on two hosts');
      const sorted = [...latencies].sort((a, b) => a - b);
      const p = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
      const winners = new Map<string, number>();
      for (const r of perOp) winners.set(r.hostId, (winners.get(r.hostId) ?? 0) + 1);
      await recordFigures('claim-storm', {
        fault: `${SPOKES.length} spokes racing claims for ${CREATES} creates (${AT_ONCE} at a time), PostgreSQL`,
        faultsInjected: CREATES * (SPOKES.length - 1),
        operations: CREATES,
        lost,
        doubled,
        worstRecoveryMs: p(1),
        notes: `${(CREATES / seconds).toFixed(1)} creates/s; create→assigned median ${p(0.5)} ms, p99 ${p(0.99)} ms; ${CREATES * SPOKES.length} offers, ${CREATES * (SPOKES.length - 1)} lost claims answered CONFLICT; wins per spoke ${Math.min(...winners.values())}–${Math.max(...winners.values())}`,
      });
    } finally {
      await sql.end();
    }
  });
});
