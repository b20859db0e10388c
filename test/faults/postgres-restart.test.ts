// PostgreSQL stops for a few seconds in the middle of a burst of creates. Requests during the gap get a
// clear 503, quickly; afterwards no operation is lost, doubled or stuck.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { TRPCClientError } from '@trpc/client';
import pg from 'pg';
import { recordFigures } from '../support/figures';
import { startPrivatePostgres } from '../support/private-postgres';
import { allOnline, startHubProcess, startSpokeProcess, until, type Hub, type SpokeHandle } from '../support/processes';
import { makeTestTls, type TestTls } from '../support/tls';

// Far more than four clients make in the 1.5 s before the outage on any machine, so the outage always meets
// some of them; a bound all the same, so the fleet can be sized to it.
const MAX_CREATES = 1000;

type Outcome = { ok: true; capsulId: string; ms: number } | { ok: false; code: string; message: string; ms: number };

describe('fault: PostgreSQL stops during a burst', () => {
  let tls: TestTls;
  let db: Awaited<ReturnType<typeof startPrivatePostgres>>;
  let hub: Hub;
  let spokes: SpokeHandle[] = [];

  before(async () => {
    tls = await makeTestTls();
    db = await startPrivatePostgres();
    hub = await startHubProcess({
      databaseUrl: db.url,
      tls,
      env: { SPOKE_CALL_TIMEOUT_MS: '4000', CREATE_DEADLINE_MS: '15000', REAPER_PERIOD_MS: '1000', ONLINE_WINDOW_MS: '30000' },
    });
    // Sized to the load, not to the machine: the burst is bounded (MAX_CREATES) and the two fake hosts have
    // room for all of it, so no create is refused for room however fast the machine makes them.
    const room = { FAKE_MEMORY_MB: String(MAX_CREATES * 512), FAKE_DISK_GB: String(MAX_CREATES * 10) };
    spokes = await Promise.all(['p1', 'p2'].map((hostId) => startSpokeProcess({ hub, hostId, tls, env: { FAKE_CREATE_MS: '300', ...room } })));
    await allOnline(hub, ['p1', 'p2']);
  });
  after(async () => {
    await Promise.all(spokes.map((s) => s.proc.stop()));
    await hub?.proc.stop();
    await db?.stop();
  });

  test('creates during a 4 s outage: clear 503s, none lost, none doubled, none stuck', async () => {
    const outcomes: Outcome[] = [];
    let stop = false;
    const worker = async () => {
      while (!stop && outcomes.length < MAX_CREATES) {
        const started = Date.now();
        try {
          const r = await hub.admin.capsul.create.mutate({ owner: 'burst@example.com', image: 'debian-12', size: 'nano' });
          outcomes.push({ ok: true, capsulId: r.capsulId, ms: Date.now() - started });
        } catch (err) {
          assert.ok(err instanceof TRPCClientError, String(err));
          outcomes.push({ ok: false, code: err.data?.code ?? 'NONE', message: err.message, ms: Date.now() - started });
          await new Promise((r) => setTimeout(r, 100));
        }
      }
    };
    const workers = Array.from({ length: 4 }, worker);
    await new Promise((r) => setTimeout(r, 1500));
    await db.pause();
    await new Promise((r) => setTimeout(r, 4000));
    await db.resume();
    const resumed = Date.now();
    await new Promise((r) => setTimeout(r, 1500));
    stop = true;
    await Promise.all(workers);

    const failures = outcomes.filter((o) => !o.ok) as Extract<Outcome, { ok: false }>[];
    const successes = outcomes.filter((o) => o.ok) as Extract<Outcome, { ok: true }>[];
    assert.ok(failures.length > 0, 'some requests met the outage');
    assert.ok(successes.length > 0, 'requests succeeded before and after it');
    for (const f of failures) {
      assert.equal(f.code, 'SERVICE_UNAVAILABLE', `a clear 503, got ${f.code}: ${f.message}`);
      assert.ok(f.ms < 10_000, `answered in ${f.ms} ms, not a hang`);
    }

    // Afterwards: nothing pending or assigned (the reaper finishes what the outage interrupted).
    const sql = new pg.Client({ connectionString: db.url });
    await sql.connect();
    try {
      await until('no operation left open', async () => {
        const { rows } = await sql.query(`SELECT count(*)::int AS n FROM "Operation" WHERE state IN ('pending', 'assigned')`);
        return rows[0].n === 0;
      }, 40_000, 250);
      const recovery = Date.now() - resumed;
      const fleet = await hub.admin.fleet.list.mutate();
      const vms = new Map<string, string[]>();
      for (const c of fleet.capsuls) vms.set(c.id, [...(vms.get(c.id) ?? []), c.hostId]);
      const rows = (await sql.query(`SELECT id, state, "hostId", "deletedAt" FROM "Capsul"`)).rows as { id: string; state: string; hostId: string | null; deletedAt: Date | null }[];
      const owners = (await sql.query(`SELECT h."operationId", count(*)::int AS n FROM "HostOperation" h JOIN "Operation" o ON o.id = h."operationId"
                                     WHERE o.kind = 'create' AND h."assignmentStatus" = 'assigned' GROUP BY h."operationId" HAVING count(*) > 1`)).rows;

      let lost = 0;
      for (const s of successes) {
        const row = rows.find((r) => r.id === s.capsulId);
        if (!row || row.state !== 'running' || vms.get(s.capsulId)?.[0] !== row.hostId) lost++;
      }
      const doubled = [...vms.values()].filter((hosts) => hosts.length > 1).length + owners.length;
      // Every VM on a host is a capsul the database knows as running there.
      for (const [id, hosts] of vms) {
        const row = rows.find((r) => r.id === id);
        assert.ok(row && row.state === 'running' && row.hostId === hosts[0], `VM ${id} is known to the database`);
      }
      assert.equal(lost, 0, 'no successful create lost');
      assert.equal(doubled, 0, `no capsul on two hosts, no operation with two owners: ${JSON.stringify({ multi: [...vms].filter(([, h]) => h.length > 1), owners })}`);
      await recordFigures('postgres-restart', {
        fault: 'PostgreSQL stopped for 4 s during a burst of creates (4 clients in a loop)',
        faultsInjected: 1,
        operations: outcomes.length,
        lost,
        doubled,
        worstRecoveryMs: recovery,
        notes: `${successes.length} creates succeeded, ${failures.length} got 503 (slowest ${Math.max(...failures.map((f) => f.ms))} ms); every operation closed ${recovery} ms after PostgreSQL was back`,
      });
    } finally {
      await sql.end();
    }
  });
});
