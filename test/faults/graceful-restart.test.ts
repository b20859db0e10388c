// `systemctl restart` of a spoke and of the hub (SIGTERM) while creates are under way: nothing accepted is
// lost. The spoke stops taking offers, gives its builds a grace, exits within its unit's stop timeout and
// finishes the rest when it starts again. The hub answers new requests 503 while the ones in flight (and the
// spokes' claims they wait on) finish, then exits; every create it accepted ends running.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { TRPCClientError } from '@trpc/client';
import pg from 'pg';
import { errorMessage } from '~/lib/log';
import { recordFigures } from '../support/figures';
import { createTestDatabase } from '../support/postgres';
import { allOnline, startHubProcess, startSpokeProcess, until, type Hub, type SpokeHandle } from '../support/processes';
import { makeTestTls, type TestTls } from '../support/tls';

// The spoke's unit (scripts/systemd/capsul-spoke.service) gives it TimeoutStopSec=30 before systemd kills it.
const UNIT_STOP_TIMEOUT_MS = 30_000;
const SPOKE_GRACE_MS = 2000;
// Builds take longer than the grace: some are still building when the spoke exits, and its next start must
// finish them.
const BUILD_MS = 4000;

async function sigterm(proc: SpokeHandle['proc'] | Hub['proc']): Promise<{ code: number | null; ms: number }> {
  const started = Date.now();
  proc.child.kill('SIGTERM');
  const code = await proc.exited;
  return { code, ms: Date.now() - started };
}

describe('fault: SIGTERM (a restart) under load', () => {
  let tls: TestTls;
  let database: Awaited<ReturnType<typeof createTestDatabase>>;
  let hub: Hub;
  let spokes: SpokeHandle[] = [];
  const spokeEnv = { FAKE_CREATE_MS: String(BUILD_MS), SPOKE_STOP_GRACE_MS: String(SPOKE_GRACE_MS), FAKE_MEMORY_MB: '1000000', FAKE_DISK_GB: '100000' };

  before(async () => {
    tls = await makeTestTls();
    database = await createTestDatabase();
    // CREATE_DEADLINE_MS far away: the reaper must not be what ends anything here.
    hub = await startHubProcess({ databaseUrl: database.url, tls, env: { CREATE_DEADLINE_MS: '600000', HUB_STOP_GRACE_MS: '20000' } });
  });
  after(async () => {
    await Promise.all(spokes.map((s) => s.proc.stop()));
    await hub?.proc.stop();
    await database?.drop();
  });

  test('a spoke restarted during 10 creates: it exits within its stop timeout, starts again, and all 10 end running', async () => {
    let spoke = await startSpokeProcess({ hub, hostId: 'restart-1', tls, env: spokeEnv });
    spokes = [spoke];
    await allOnline(hub, ['restart-1']);
    const created = await Promise.all(Array.from({ length: 10 }, () => hub.admin.capsul.create.mutate({ owner: 'restart@example.com', image: 'debian-12', size: 'nano' })));
    assert.ok(created.every((c) => c.hostId === 'restart-1'));

    const stopped = await sigterm(spoke.proc);
    assert.equal(stopped.code, 0, 'a clean exit');
    assert.ok(stopped.ms < UNIT_STOP_TIMEOUT_MS, `exited in ${stopped.ms} ms, within the unit's stop timeout`);
    const stopLine = await spoke.proc.waitFor((l) => l.msg === 'spoke stopped', 1000).catch(() => undefined);
    assert.ok(stopLine, 'it said how it stopped');

    spoke = await startSpokeProcess({ hub, hostId: 'restart-1', tls, port: spoke.port, hostToken: spoke.hostToken, hubToken: spoke.hubToken, stateDir: spoke.stateDir, env: spokeEnv });
    spokes = [spoke];
    const back = Date.now();
    await until('all 10 running', async () => {
      const rows = await hub.admin.capsul.list.query({});
      return created.every((c) => rows.find((r) => r.id === c.capsulId)?.state === 'running');
    }, 60_000, 200);
    const recovery = Date.now() - back;
    const ops = await hub.admin.operation.list.query({ kind: 'create', limit: 50 });
    for (const c of created) {
      const op = ops.find((o) => o.id === c.operationId)!;
      assert.equal(op.state, 'completed');
      assert.equal(op.reapedAt, null, 'finished by its owner, not the reaper');
    }
    const fleet = await hub.admin.fleet.list.mutate();
    assert.equal(fleet.capsuls.filter((v) => created.some((c) => c.capsulId === v.id) && v.state === 'running').length, 10, 'ten VMs, running');
    await recordFigures('spoke-sigterm', {
      fault: 'SIGTERM (systemctl restart) of the spoke building 10 creates, then a start',
      faultsInjected: 1,
      operations: 10,
      lost: 0,
      doubled: 0,
      worstRecoveryMs: recovery,
      notes: `the spoke exited in ${stopped.ms} ms (grace ${SPOKE_GRACE_MS} ms, unit stop timeout ${UNIT_STOP_TIMEOUT_MS} ms; ${String(stopLine?.stillBuilding ?? '?')} builds left for the next start); all 10 running ${recovery} ms after it started again`,
    });
    await spoke.proc.stop();
    spokes = [];
    await hub.admin.host.remove.mutate({ id: 'restart-1' }).catch(() => undefined);
  });

  test('the hub restarted during a burst of creates: new requests get 503, none in flight is cut, every accepted create ends running', async () => {
    spokes = await Promise.all(['burst-1', 'burst-2'].map((hostId) => startSpokeProcess({ hub, hostId, tls, env: { ...spokeEnv, FAKE_CREATE_MS: '300' } })));
    await allOnline(hub, ['burst-1', 'burst-2']);
    const accepted: string[] = [];
    const refusals: string[] = [];
    const cut: string[] = [];
    const resets: string[] = [];
    let stop = false;
    const worker = async () => {
      while (!stop) {
        try {
          accepted.push((await hub.admin.capsul.create.mutate({ owner: 'burst@example.com', image: 'debian-12', size: 'nano' })).capsulId);
        } catch (err) {
          const code = err instanceof TRPCClientError ? err.data?.code : undefined;
          if (code === 'SERVICE_UNAVAILABLE') refusals.push((err as Error).message);
          // Once the hub closes its port, connections are refused, and those still in the kernel's queue of
          // the listening socket (never taken by the hub), or still in their TLS handshake, are reset: no
          // request was sent on them. That these were never requests the hub had taken is checked on the
          // hub's side below (its stop cut none short).
          else if (/ECONNREFUSED|ECONNRESET|other side closed|socket hang up|before secure TLS connection was established/.test(errorMessage(err))) {
            resets.push(errorMessage(err));
            break;
          } else cut.push(errorMessage(err));
        }
      }
    };
    const workers = Array.from({ length: 4 }, worker);
    await until('a few creates accepted', async () => accepted.length >= 8, 30_000, 20);
    const first = hub;
    const stopped = await sigterm(first.proc);
    stop = true;
    await Promise.all(workers);
    assert.equal(stopped.code, 0, 'a clean exit');
    assert.deepEqual(cut, [], 'every request got its answer, a clear 503, or no connection at all');
    const stopLine = await first.proc.waitFor((l) => l.msg === 'hub stopped', 1000);
    assert.equal(stopLine.cutShort, 0, 'no request the hub had taken was cut short');
    assert.ok(refusals.length > 0, 'requests during the drain were answered 503');

    hub = await startHubProcess({ databaseUrl: database.url, tls, port: first.port, same: first, env: { CREATE_DEADLINE_MS: '600000' } });
    const back = Date.now();
    const sql = new pg.Client({ connectionString: database.url });
    await sql.connect();
    try {
      // Every capsul the burst made a row for (accepted, or in flight at the stop) ends running: none stays
      // pending or creating, none is failed.
      await until('every create of the burst running', async () => {
        const { rows } = await sql.query(`SELECT state, count(*)::int AS n FROM "Capsul" c JOIN "Account" a ON a.id = c."ownerId" WHERE a.email = 'burst@example.com' GROUP BY state`);
        return rows.length === 1 && rows[0].state === 'running' && rows;
      }, 60_000, 200);
      const recovery = Date.now() - back;
      const rows = (await sql.query(`SELECT id, state FROM "Capsul" WHERE id = ANY($1)`, [accepted])).rows;
      assert.equal(rows.length, accepted.length);
      assert.ok(rows.every((r) => r.state === 'running'), 'every accepted create is running');
      await recordFigures('hub-sigterm', {
        fault: 'SIGTERM (systemctl restart) of the hub during a burst of creates (4 clients in a loop), then a start',
        faultsInjected: 1,
        operations: accepted.length + refusals.length,
        lost: 0,
        doubled: 0,
        worstRecoveryMs: recovery,
        notes: `the hub exited in ${stopped.ms} ms; ${accepted.length} creates accepted, ${refusals.length} refused with 503 while it drained, none it had taken cut (${resets.length} connections reset in its listening queue as it closed); all accepted running ${recovery} ms after it was back`,
      });
    } finally {
      await sql.end();
    }
  });
});
