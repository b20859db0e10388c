// Limits per account, against a real hub process on PostgreSQL and a fake spoke: a create past a limit is
// refused at once naming the limit, with nothing written and no host asked; an account's own limits replace
// the default for it alone; creates racing for the last slot get exactly the slots there are; only admins
// change limits, and bad values are refused naming the field.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { TRPCClientError } from '@trpc/client';
import { execa } from 'execa';
import pg from 'pg';
import type { HubRouter } from '~/hub/root';
import { fieldIssues } from '~/lib/trpc-errors';
import { signIn, type Session } from '../support/accounts';
import { createTestDatabase } from '../support/postgres';
import { allOnline, ROOT, startHubProcess, startSpokeProcess, type Hub, type SpokeHandle } from '../support/processes';
import { makeTestTls, type TestTls } from '../support/tls';
import { refusal } from '../support/refusal';

describe('limits per account', () => {
  let tls: TestTls;
  let database: Awaited<ReturnType<typeof createTestDatabase>>;
  let sql: pg.Client;
  let hub: Hub;
  let spoke: SpokeHandle;
  let alice: Session;
  let bob: Session;

  // What a create writes, for one account: its capsuls, their operations, and the offers to hosts.
  const written = async (email: string) =>
    (
      await sql.query(
        `SELECT (SELECT count(*)::int FROM "Capsul" c JOIN "Account" a ON a.id = c."ownerId" WHERE a.email = $1) AS capsuls,
                (SELECT count(*)::int FROM "Operation" o JOIN "Capsul" c ON c.id = o."capsulId" JOIN "Account" a ON a.id = c."ownerId" WHERE a.email = $1) AS operations,
                (SELECT count(*)::int FROM "HostOperation") AS offers,
                (SELECT count(*)::int FROM "DefaultLimits") + (SELECT count(*)::int FROM "AccountLimits") AS limits`,
        [email],
      )
    ).rows[0];
  const create = (s: Session) => s.client.capsul.create.mutate({ image: 'debian-12', size: 'nano' });

  before(async () => {
    tls = await makeTestTls();
    database = await createTestDatabase();
    sql = new pg.Client({ connectionString: database.url });
    await sql.connect();
    hub = await startHubProcess({ databaseUrl: database.url, tls });
    spoke = await startSpokeProcess({ hub, hostId: 'spoke-a', tls, env: { FAKE_CREATE_MS: '50' } });
    await allOnline(hub, ['spoke-a']);
    alice = await signIn(hub, tls, 'alice@example.com');
    bob = await signIn(hub, tls, 'bob@example.com');
  });

  after(async () => {
    await sql?.end();
    await spoke?.proc.stop();
    await hub?.proc.stop();
    await database?.drop();
  });

  test('with no limit set, creates pass; the account page shows what is held and "no limit"', async () => {
    await create(alice);
    const me = await alice.client.account.me.query();
    assert.deepEqual(me.usage, { capsuls: 1, vcpus: 1, memoryMb: 512, diskGb: 10 });
    assert.deepEqual(me.limits, { capsuls: null, vcpus: null, memoryMb: null, diskGb: null });
  });

  test('a default limit refuses the create past it, names itself, and nothing is written or asked of a host', async () => {
    await hub.admin.limits.set.mutate({ capsuls: 1 });
    const before = await written('alice@example.com');
    const err = await refusal(create(alice));
    assert.equal(err.data?.code, 'FORBIDDEN');
    assert.equal(err.message, 'You have 1 of 1 capsul allowed; delete one first, or ask an admin to raise your limit.');
    assert.deepEqual(await written('alice@example.com'), before, 'no capsul, no operation, no offer');
    assert.deepEqual((await alice.client.account.me.query()).limits.capsuls, 1);

    // A limit on what the capsuls are made with names the size that would pass it.
    await hub.admin.limits.set.mutate({ capsuls: null, vcpus: 2 });
    const bigger = await refusal(alice.client.capsul.create.mutate({ image: 'debian-12', size: 'medium' }));
    assert.equal(bigger.data?.code, 'FORBIDDEN');
    assert.deepEqual(fieldIssues(bigger).map((i) => i.path), ['size']);
    assert.match(bigger.message, /^You have 1 of 2 vCPUs allowed, and this capsul needs 2 vCPUs more; pick a smaller size/);
    assert.deepEqual(await written('alice@example.com'), before);
    // A new account, made by this create, is refused before its row is made.
    const stranger = await refusal(hub.admin.capsul.create.mutate({ owner: 'new@example.com', image: 'debian-12', size: 'large' }));
    assert.equal(stranger.data?.code, 'FORBIDDEN');
    assert.equal((await sql.query(`SELECT count(*)::int AS n FROM "Account" WHERE email = 'new@example.com'`)).rows[0].n, 0);
    await hub.admin.limits.set.mutate({ capsuls: 1, vcpus: null });
  });

  test("an account's own limit raises it for that account alone", async () => {
    await create(bob);
    await refusal(create(bob));
    const shown = await hub.admin.limits.set.mutate({ account: 'alice@example.com', capsuls: 3 });
    assert.deepEqual(shown.limits, { capsuls: 3, vcpus: null, memoryMb: null, diskGb: null });
    assert.deepEqual(shown.usage, { capsuls: 1, vcpus: 1, memoryMb: 512, diskGb: 10 });
    await create(alice);
    await create(alice);
    const full = await refusal(create(alice));
    assert.match(full.message, /^You have 3 of 3 capsuls allowed/);
    const stillOne = await refusal(create(bob));
    assert.match(stillOne.message, /^You have 1 of 1 capsul allowed/);
    assert.deepEqual((await hub.admin.limits.list.query()).accounts.map((a) => [a.account, a.own.capsuls, a.usage.capsuls]), [['alice@example.com', 3, 3]]);

    // Back to the default: alice holds 3 of the 1 now allowed.
    assert.deepEqual(await hub.admin.limits.clear.mutate({ account: 'alice@example.com' }), { account: 'alice@example.com', cleared: true });
    assert.match((await refusal(create(alice))).message, /^You have 3 of 1 capsul allowed/);
  });

  test('creates racing for the last slots: exactly as many succeed as there are slots', async () => {
    const owner = 'carol@example.com';
    await hub.admin.limits.set.mutate({ account: owner, capsuls: 3 });
    const results = await Promise.allSettled(Array.from({ length: 10 }, () => hub.admin.capsul.create.mutate({ owner, image: 'debian-12', size: 'nano' })));
    const won = results.filter((r) => r.status === 'fulfilled');
    const refused = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
    assert.equal(won.length, 3, JSON.stringify(refused.map((r) => String(r.reason))));
    for (const r of refused) {
      assert.equal((r.reason as TRPCClientError<HubRouter>).data?.code, 'FORBIDDEN');
      assert.match((r.reason as Error).message, /^You have 3 of 3 capsuls allowed/);
    }
    const held = await written(owner);
    assert.equal(held.capsuls, 3);
    assert.equal(held.operations, 3);
    assert.equal((await hub.admin.limits.show.query({ account: owner })).usage?.capsuls, 3);
  });

  test('only admins see or change limits', async () => {
    const before = await written('alice@example.com');
    for (const [what, call] of [
      ['set the default', () => alice.client.limits.set.mutate({ capsuls: 100 })],
      ['raise her own', () => alice.client.limits.set.mutate({ account: 'alice@example.com', capsuls: 100 })],
      ['clear another', () => alice.client.limits.clear.mutate({ account: 'bob@example.com' })],
      ['list', () => alice.client.limits.list.query()],
      ['show', () => alice.client.limits.show.query({ account: 'bob@example.com' })],
    ] as const) {
      assert.equal((await refusal(call())).data?.code, 'FORBIDDEN', what);
    }
    assert.deepEqual(await written('alice@example.com'), before);
    assert.equal((await hub.admin.limits.show.query()).limits.capsuls, 1);
  });

  test('bad values are refused naming the field, and nothing is written', async () => {
    const before = await sql.query('SELECT * FROM "DefaultLimits" UNION ALL SELECT 0, capsuls, vcpus, "memoryMb", "diskGb", "updatedAt" FROM "AccountLimits" ORDER BY 1');
    /* eslint-disable-next-line @typescript-eslint/no-explicit-any -- inputs malformed on purpose */
    const admin = hub.admin as any;
    for (const [input, field] of [
      [{ capsuls: -1 }, 'capsuls'],
      [{ vcpus: 1.5 }, 'vcpus'],
      [{ memoryMb: '2048' }, 'memoryMb'],
      [{ account: 'alice@example.com', diskGb: -10 }, 'diskGb'],
      [{ account: 'not an email', capsuls: 2 }, 'account'],
      [{ capsuls: Number.NaN }, 'capsuls'],
    ] as const) {
      const err = await refusal(admin.limits.set.mutate(input));
      assert.equal(err.data?.code, 'BAD_REQUEST', JSON.stringify(input));
      assert.deepEqual(fieldIssues(err).map((i) => i.path), [field], JSON.stringify(input));
      assert.match(err.message, /^[A-Z].*\.$/, `a sentence: ${err.message}`);
    }
    const missing = await refusal(hub.admin.limits.show.query({ account: 'nobody@example.com' }));
    assert.equal(missing.data?.code, 'NOT_FOUND');
    const after = await sql.query('SELECT * FROM "DefaultLimits" UNION ALL SELECT 0, capsuls, vcpus, "memoryMb", "diskGb", "updatedAt" FROM "AccountLimits" ORDER BY 1');
    assert.deepEqual(after.rows, before.rows);
  });

  test('the CLI shows and sets limits, and names the field it refuses', async () => {
    const cli = (...args: string[]) =>
      execa(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args], {
        cwd: ROOT,
        reject: false,
        env: { CAPSUL_HUB_URL: hub.url, HUB_ADMIN_TOKEN: hub.adminToken, TLS_CA_FILE: tls.caFile },
      });
    const set = await cli('limits', 'set', '--account', 'dave@example.com', '--capsuls', '2', '--memory', '4096');
    assert.equal(set.exitCode, 0, set.stderr);
    assert.match(set.stdout, /limits of dave@example\.com/);
    assert.match(set.stdout, /capsuls\s+2\s+yes\s+0/);
    assert.match(set.stdout, /vcpus\s+no limit\s+no \(the default\)\s+0/);
    const shown = await cli('limits', 'show', '--json');
    assert.equal(JSON.parse(shown.stdout).limits.capsuls, 1);
    const bad = await cli('limits', 'set', '--capsuls=-1');
    assert.equal(bad.exitCode, 1);
    assert.equal(bad.stderr.trim(), 'error (BAD_REQUEST): capsuls: Must be at least 0.');
    const cleared = await cli('limits', 'clear', '--account', 'dave@example.com');
    assert.equal(cleared.exitCode, 0, cleared.stderr);
  });
});
