// The hub dies (kill -9) while spokes have completions to deliver; started again, every completion arrives,
// and each is applied exactly once.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import pg from 'pg';
import { httpsFetch } from '~/lib/https-fetch';
import { createHubClient } from '~/spoke/hub-client';
import { recordFigures } from '../support/figures';
import { createTestDatabase } from '../support/postgres';
import { allOnline, startHubProcess, startSpokeProcess, until, type Hub, type SpokeHandle } from '../support/processes';
import { makeTestTls, type TestTls } from '../support/tls';

const count = (text: string, needle: RegExp) => text.split('\n').filter((l) => needle.test(l)).length;

describe('fault: the hub stops while spokes deliver completions', () => {
  let tls: TestTls;
  let database: Awaited<ReturnType<typeof createTestDatabase>>;
  let hub: Hub;
  let spokes: SpokeHandle[] = [];

  before(async () => {
    tls = await makeTestTls();
    database = await createTestDatabase();
    hub = await startHubProcess({ databaseUrl: database.url, tls });
    spokes = await Promise.all(['s1', 's2'].map((hostId) => startSpokeProcess({ hub, hostId, tls, env: { FAKE_CREATE_MS: '1500' } })));
    await allOnline(hub, ['s1', 's2']);
  });
  after(async () => {
    await Promise.all(spokes.map((s) => s.proc.stop()));
    await hub?.proc.stop();
    await database?.drop();
  });

  test('kill -9 the hub with 6 completions on their way, start it again: all arrive, each applied once', async () => {
    const created = await Promise.all(Array.from({ length: 6 }, () => hub.admin.capsul.create.mutate({ owner: 'restart@example.com', image: 'debian-12', size: 'nano' })));
    const first = hub;
    await first.proc.kill();
    // The spokes finish their builds and find the hub gone.
    await until('spokes retrying', async () => spokes.reduce((n, s) => n + count(s.proc.logs(), /completion not delivered yet/), 0) >= 6, 20_000, 100);
    hub = await startHubProcess({ databaseUrl: database.url, tls, port: first.port, same: first });
    const back = Date.now();
    await until('all running', async () => {
      const rows = await hub.admin.capsul.list.query({});
      return created.every((c) => rows.find((r) => r.id === c.capsulId)?.state === 'running');
    }, 60_000, 100);
    const recovery = Date.now() - back;

    // Log lines reach us through the processes' pipes, after the rows changed: wait for each, then count.
    const applied = (c: (typeof created)[number]) => count(hub.proc.logs(), new RegExp(`(?=.*"msg":"create completed")(?=.*"operationId":"${c.operationId}")`));
    const acknowledged = (c: (typeof created)[number]) =>
      count(spokes.find((s) => s.hostId === c.hostId)!.proc.logs(), new RegExp(`completion acknowledged.*${c.operationId}|${c.operationId}.*completion acknowledged`));
    await until('a "create completed" line for each, and its acknowledgement', async () => created.every((c) => applied(c) >= 1 && acknowledged(c) >= 1), 10_000, 50);
    for (const c of created) {
      assert.equal(acknowledged(c), 1, `acknowledged once: ${c.operationId}`);
      assert.equal(applied(c), 1, `applied once: ${c.operationId}`);
    }
    const sql = new pg.Client({ connectionString: database.url });
    await sql.connect();
    const ops = await sql.query(`SELECT o.id, o.state, count(h.*) FILTER (WHERE h."assignmentStatus" = 'assigned') AS owners, count(h.*) FILTER (WHERE h.result IS NOT NULL) AS results
                                FROM "Operation" o JOIN "HostOperation" h ON h."operationId" = o.id WHERE o.kind = 'create' GROUP BY o.id, o.state`);
    await sql.end();
    assert.equal(ops.rows.length, 6);
    for (const r of ops.rows) {
      assert.equal(r.state, 'completed');
      assert.equal(Number(r.owners), 1);
      assert.equal(Number(r.results), 1);
    }
    // A completion delivered twice (an acknowledgement lost on the way) changes nothing the second time.
    const owner = spokes.find((s) => s.hostId === created[0]!.hostId)!;
    const asOwner = createHubClient({ hubUrl: hub.url, hostId: owner.hostId, hostToken: owner.hostToken, fetch: httpsFetch({ ca: readFileSync(tls.caFile) }), timeoutMs: 5000 });
    const [op] = await hub.admin.operation.list.query({ capsulId: created[0]!.capsulId, kind: 'create' });
    const result = op!.hostOperations.find((h) => h.hostId === owner.hostId)!.result as never;
    assert.deepEqual(await asOwner.spoke.completeOperation.mutate({ operationId: op!.id, result }), { acknowledged: true });
    const [again] = await hub.admin.operation.list.query({ capsulId: created[0]!.capsulId, kind: 'create' });
    assert.deepEqual(again, op);

    await recordFigures('hub-restart', {
      fault: 'kill -9 of the hub while 6 completions were due, then a restart',
      faultsInjected: 1,
      operations: 6,
      lost: 0,
      doubled: 0,
      worstRecoveryMs: recovery,
      notes: `every completion applied exactly once, ${recovery} ms after the hub was back (the spokes' outboxes retry with capped backoff)`,
    });
  });
});
