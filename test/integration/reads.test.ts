// Reads do not change state: every query a member or an admin can make (the console refetches them on every
// window focus, and TanStack Query retries them) writes nothing and calls no spoke; what asks hosts and is
// recorded (a refresh, the fleet fan-outs) is a mutation, behind the CSRF check, and refused as a GET.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import pg from 'pg';
import { signIn, type Session } from '../support/accounts';
import { createTestDatabase } from '../support/postgres';
import { allOnline, startHubProcess, startSpokeProcess, until, type Hub, type SpokeHandle } from '../support/processes';
import { makeTestTls, type TestTls } from '../support/tls';

const ADMIN = 'reads-admin@example.com';

describe('reads write nothing', () => {
  let tls: TestTls;
  let database: Awaited<ReturnType<typeof createTestDatabase>>;
  let sql: pg.Client;
  let hub: Hub;
  let spoke: SpokeHandle;
  let member: Session;
  let admin: Session;
  let capsulId: string;
  let operationId: string;

  // Everything a read could write: rows of every table but sessions (whose expiry slides at most hourly) and
  // hosts (heartbeats write them), and the last change to capsuls and operations.
  const state = async () =>
    (
      await sql.query(`SELECT
        (SELECT count(*) FROM "Operation")::int AS operations, (SELECT count(*) FROM "HostOperation")::int AS "hostOperations",
        (SELECT count(*) FROM "Capsul")::int AS capsuls, (SELECT count(*) FROM "Account")::int AS accounts,
        (SELECT count(*) FROM "Reconciliation")::int AS reconciliations, (SELECT count(*) FROM "LoginToken")::int AS "loginTokens",
        (SELECT max("updatedAt") FROM "Capsul") AS "capsulChanged", (SELECT max("updatedAt") FROM "Operation") AS "operationChanged"`)
    ).rows[0];
  const spokeCalls = () => spoke.proc.logs().split('\n').filter((l) => l.includes('"msg":"hub call"') || l.includes('claimed create')).length;

  before(async () => {
    tls = await makeTestTls(['localhost', '127.0.0.1']);
    database = await createTestDatabase();
    sql = new pg.Client({ connectionString: database.url });
    await sql.connect();
    hub = await startHubProcess({ databaseUrl: database.url, tls, env: { ADMIN_EMAILS: ADMIN } });
    spoke = await startSpokeProcess({ hub, hostId: 'reads-1', tls, env: { FAKE_CREATE_MS: '100' } });
    await allOnline(hub, ['reads-1']);
    member = await signIn(hub, tls, 'reads@example.com');
    admin = await signIn(hub, tls, ADMIN);
    ({ capsulId, operationId } = await member.client.capsul.create.mutate({ image: 'debian-12', size: 'nano' }));
    await until('running', async () => (await member.client.capsul.byId.query({ id: capsulId })).state === 'running');
    await hub.admin.fleet.list.mutate(); // a recorded fan-out, so there are operations of every kind to list
  });
  after(async () => {
    await sql?.end();
    await spoke?.proc.stop();
    await hub?.proc.stop();
    await database?.drop();
  });

  test('every query, as a member and as an admin, twice: no row written, no spoke asked', async () => {
    // The fan-out's record is written after its answer: wait for it too.
    await until('the records of the setup written', async () => {
      const { rows } = await sql.query(`SELECT (SELECT count(*) FROM "HostOperation" WHERE "assignmentStatus" = 'pending')::int AS pending, (SELECT count(*) FROM "Operation" WHERE kind = 'list')::int AS lists`);
      return rows[0].pending === 0 && rows[0].lists > 0;
    });
    const before = await state();
    const calls = spokeCalls();
    for (let round = 0; round < 2; round++) {
      for (const who of [member, admin]) {
        const c = who.client;
        await c.capsul.list.query({});
        await c.capsul.byId.query({ id: capsulId });
        await c.capsul.operations.query({ id: capsulId });
        await c.capsul.capacity.query({ size: 'nano' });
        await c.catalog.list.query();
        await c.account.me.query();
        await c.sshKey.list.query();
      }
      const a = admin.client;
      await a.capsul.list.query({ all: true });
      await a.host.list.query();
      await a.operation.list.query({});
      await a.operation.byId.query({ id: operationId });
      await a.drift.latest.query();
      await a.drift.history.query({});
      await a.image.list.query();
    }
    await new Promise((r) => setTimeout(r, 300)); // anything written after its answer would land in this time
    assert.deepEqual(await state(), before, 'nothing written');
    assert.equal(spokeCalls(), calls, 'no spoke asked');
    assert.equal((await member.client.capsul.capacity.query({ size: 'nano' })).available, true, 'capacity is answered from what hosts reported with their heartbeats');
  });

  test('what asks hosts and is recorded is a mutation: as a GET it is refused and does nothing; without the console\'s Origin too', async () => {
    const before = await state();
    const input = encodeURIComponent(JSON.stringify({ json: { id: capsulId } }));
    for (const path of [`capsul.refresh?input=${input}`, 'fleet.list', `fleet.capacity?input=${encodeURIComponent(JSON.stringify({ json: { memoryMb: 512, diskGb: 10 } }))}`]) {
      const res = await admin.fetch(`${hub.url}/api/trpc/${path}`, { headers: { cookie: admin.cookie } });
      assert.equal(res.status, 405, `${path} as a GET`);
    }
    const post = await admin.fetch(`${hub.url}/api/trpc/capsul.refresh`, {
      method: 'POST',
      headers: { cookie: admin.cookie, 'content-type': 'application/json', origin: 'https://elsewhere.example' },
      body: JSON.stringify({ json: { id: capsulId } }),
    });
    assert.equal(post.status, 403, 'a mutation from another site');
    assert.deepEqual(await state(), before, 'nothing written');
    // The same, asked properly, is recorded.
    await member.client.capsul.refresh.mutate({ id: capsulId });
    assert.equal((await state()).operations, before.operations + 1);
  });
});
