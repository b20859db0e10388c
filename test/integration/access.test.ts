// Sign-in, sessions and access control, through the hub's HTTPS API (separate processes, PostgreSQL).
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import pg from 'pg';
import { TRPCClientError } from '@trpc/client';
import { hashToken } from '~/lib/tokens';
import { clientWithCookie, linkTokensFor, requestLink, signIn, verify, type Session } from '../support/accounts';
import { createTestDatabase } from '../support/postgres';
import { allOnline, startHubProcess, startSpokeProcess, until, type Hub, type SpokeHandle } from '../support/processes';
import { makeTestTls, type TestTls } from '../support/tls';

const KEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGvatMdwSOLaKEdOnZWAjMM8ufgWQtrOIXrHIPn9Swud alice@laptop';
const KEY_B = 'ecdsa-sha2-nistp256 AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAABBBJmi2H7ASepTfnzqchSd3ntAkoVMs22lJSfSDq3FhJ2NaF0rdnY+ZGMYTBFcFZx2TxWYNQJB1NXQSRNQFkfZuIM= bob';
const ADMIN = 'root@example.com';

async function codeOf(call: Promise<unknown>): Promise<string> {
  try {
    await call;
  } catch (err) {
    assert.ok(err instanceof TRPCClientError, String(err));
    return err.data?.code ?? 'NO_CODE';
  }
  return 'OK';
}

describe('accounts, sessions and access control', () => {
  let tls: TestTls;
  let database: Awaited<ReturnType<typeof createTestDatabase>>;
  let sql: pg.Client;
  let hub: Hub;
  let spoke: SpokeHandle;
  let alice: Session;
  let bob: Session;

  before(async () => {
    tls = await makeTestTls(['localhost', '127.0.0.1']);
    database = await createTestDatabase();
    sql = new pg.Client({ connectionString: database.url });
    hub = await startHubProcess({
      databaseUrl: database.url,
      tls,
      env: { ADMIN_EMAILS: ADMIN, LOGIN_LINKS_PER_EMAIL: '3', LOGIN_LINKS_PER_ADDRESS: '30' },
    });
    await sql.connect();
    spoke = await startSpokeProcess({ hub, hostId: 'spoke-a', tls, env: { FAKE_CREATE_MS: '100' } });
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

  test('the session cookie is httpOnly, Secure and SameSite; only the hash of link and session tokens is stored', async () => {
    assert.match(alice.setCookie, /^capsul_session=[A-Za-z0-9_-]{43}; Path=\/; HttpOnly; Secure; SameSite=Lax; Max-Age=\d+$/);
    const sessionToken = alice.cookie.split('=')[1]!;
    const { rows } = await sql.query('SELECT id FROM "Session"');
    assert.ok(rows.some((r) => r.id === hashToken(sessionToken)));
    assert.ok(!rows.some((r) => r.id === sessionToken));
    const [linkToken] = linkTokensFor(hub, 'alice@example.com');
    const links = await sql.query('SELECT "tokenHash", EXTRACT(EPOCH FROM "expiresAt" - "createdAt")::float AS life FROM "LoginToken"');
    assert.ok(links.rows.some((r) => r.tokenHash === hashToken(linkToken!)));
    for (const r of links.rows) assert.ok(Math.abs(r.life - 900) < 2, `valid for 15 minutes, got ${r.life} s`);
  });

  test('a sign-in link works once, and not after it expires', async () => {
    const [used] = linkTokensFor(hub, 'alice@example.com');
    const again = await verify(hub, alice.fetch, used!);
    assert.equal(again.status, 401);
    assert.match(await again.text(), /expired or was used already/);

    await requestLink(hub, alice.fetch, 'late@example.com');
    const token = await until('mail', async () => linkTokensFor(hub, 'late@example.com')[0], 10_000, 50);
    await sql.query(`UPDATE "LoginToken" SET "expiresAt" = (now() AT TIME ZONE 'UTC') - interval '1 second' WHERE "tokenHash" = $1`, [hashToken(token)]);
    const late = await verify(hub, alice.fetch, token);
    assert.equal(late.status, 401);
    assert.equal((await sql.query('SELECT count(*)::int AS n FROM "Account" WHERE email = $1', ['late@example.com'])).rows[0].n, 0);
  });

  test('links are rate-limited per email address', async () => {
    const email = 'often@example.com';
    for (let i = 0; i < 3; i++) assert.equal((await requestLink(hub, alice.fetch, email)).status, 200);
    const refused = await requestLink(hub, alice.fetch, email);
    assert.equal(refused.status, 429);
    assert.match(await refused.text(), /too many sign-in links asked for this address/i);
    assert.equal((await sql.query('SELECT count(*)::int AS n FROM "LoginToken" WHERE email = $1', [email])).rows[0].n, 3);
  });

  test('a mutation with the session cookie from another site is refused (CSRF)', async () => {
    const evil = clientWithCookie(hub, alice.fetch, alice.cookie, 'https://evil.example');
    assert.equal(await codeOf(evil.sshKey.add.mutate({ name: 'evil', content: KEY })), 'FORBIDDEN');
    const noOrigin = await alice.fetch(`${hub.url}/api/trpc/sshKey.add`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', cookie: alice.cookie },
      body: JSON.stringify({ json: { name: 'evil', content: KEY } }),
    });
    assert.equal(noOrigin.status, 403);
    assert.deepEqual(await alice.client.sshKey.list.query(), []);
  });

  test("account B can neither read nor act on account A's capsuls or keys, through any procedure", async () => {
    const key = await alice.client.sshKey.add.mutate({ name: 'laptop', content: KEY });
    const created = await alice.client.capsul.create.mutate({ image: 'debian-12', size: 'nano', sshKeyIds: [key.id] });
    const id = created.capsulId;
    await until('running', async () => (await alice.client.capsul.byId.query({ id })).state === 'running');
    await bob.client.sshKey.add.mutate({ name: 'bob', content: KEY_B });
    const bobs = await bob.client.capsul.create.mutate({ image: 'debian-12', size: 'nano' });
    await until('bob running', async () => (await bob.client.capsul.byId.query({ id: bobs.capsulId })).state === 'running');

    // Bob listens to the live feed while Alice's and his own capsul change.
    const feed = new AbortController();
    const seen: string[] = [];
    const stream = bob.fetch(`${hub.url}/api/trpc/capsul.watch`, { headers: { cookie: bob.cookie }, signal: feed.signal }).then(async (res) => {
      assert.equal(res.status, 200);
      const reader = res.body!.getReader();
      for (;;) {
        const { value, done } = await reader.read();
        if (done) return;
        seen.push(Buffer.from(value).toString());
      }
    }).catch((err: Error) => { if (err.name !== 'AbortError') throw err; });
    await new Promise((r) => setTimeout(r, 500));

    const b = bob.client;
    assert.ok(!(await b.capsul.list.query({})).some((c) => c.id === id), 'not in his list');
    assert.equal(await codeOf(b.capsul.byId.query({ id })), 'NOT_FOUND');
    assert.equal(await codeOf(b.capsul.refresh.mutate({ id })), 'NOT_FOUND');
    assert.equal(await codeOf(b.capsul.operations.query({ id })), 'NOT_FOUND');
    for (const command of ['stop', 'forceStop', 'restart', 'start'] as const) {
      assert.equal(await codeOf(b.capsul.setState.mutate({ id, command })), 'NOT_FOUND', command);
    }
    assert.equal(await codeOf(b.capsul.destroy.mutate({ id })), 'NOT_FOUND');
    assert.equal(await codeOf(b.capsul.list.query({ all: true })), 'FORBIDDEN');
    assert.equal(await codeOf(b.capsul.list.query({ owner: 'alice@example.com' })), 'FORBIDDEN');
    assert.equal(await codeOf(b.capsul.create.mutate({ image: 'debian-12', size: 'nano', owner: 'alice@example.com' })), 'FORBIDDEN');
    assert.equal(await codeOf(b.capsul.create.mutate({ image: 'debian-12', size: 'nano', sshKeyIds: [key.id] })), 'BAD_REQUEST');
    assert.ok(!(await b.sshKey.list.query()).some((k) => k.id === key.id));
    assert.equal(await codeOf(b.sshKey.remove.mutate({ id: key.id })), 'NOT_FOUND');
    for (const [name, call] of [
      ['host.list', () => b.host.list.query()],
      ['host.add', () => b.host.add.mutate({ id: 'x', httpsUrl: 'https://127.0.0.1:9' })],
      ['operation.list', () => b.operation.list.query({})],
      ['fleet.list', () => b.fleet.list.mutate()],
      ['drift.check', () => b.drift.check.mutate()],
      ['drift.latest', () => b.drift.latest.query()],
      ['image.upsert', () => b.image.upsert.mutate({ id: 'x', name: 'x', file: 'x.qcow2' })],
    ] as const) {
      assert.equal(await codeOf(call()), 'FORBIDDEN', name);
    }

    await alice.client.capsul.setState.mutate({ id, command: 'restart' });
    await b.capsul.setState.mutate({ id: bobs.capsulId, command: 'restart' });
    await until('his own change on his feed', async () => seen.join('').includes(bobs.capsulId), 10_000, 50);
    feed.abort();
    await stream;
    assert.ok(!seen.join('').includes(id), "Alice's capsul never appears on Bob's feed");

    // Nothing of Alice's changed; an admin can see it (the positive control).
    const still = await alice.client.capsul.byId.query({ id });
    assert.equal(still.state, 'running');
    assert.equal(still.deletedAt, null);
    assert.equal((await alice.client.sshKey.list.query()).length, 1);
    const admin = await signIn(hub, tls, ADMIN);
    assert.equal((await admin.client.capsul.byId.query({ id })).owner.email, 'alice@example.com');
    assert.ok((await admin.client.capsul.list.query({ all: true })).some((c) => c.id === id));
  });

  test('signing out ends the session; signing out everywhere ends all of them', async () => {
    const second = await signIn(hub, tls, 'alice@example.com');
    await alice.client.auth.logout.mutate({});
    assert.equal(await codeOf(alice.client.account.me.query()), 'UNAUTHORIZED');
    assert.equal((await second.client.account.me.query()).email, 'alice@example.com');
    const third = await signIn(hub, tls, 'bob@example.com');
    await third.client.auth.logout.mutate({ everywhere: true });
    assert.equal(await codeOf(bob.client.account.me.query()), 'UNAUTHORIZED');
    assert.equal(await codeOf(third.client.account.me.query()), 'UNAUTHORIZED');
  });

  test('links are rate-limited per client address', async () => {
    const { rows } = await sql.query(`SELECT count(*)::int AS n FROM "LoginToken" WHERE "createdAt" > (now() AT TIME ZONE 'UTC') - interval '15 minutes'`);
    const left = 30 - rows[0].n;
    for (let i = 0; i < left; i++) assert.equal((await requestLink(hub, alice.fetch, `visitor${i}@example.com`)).status, 200, `request ${i}`);
    const refused = await requestLink(hub, alice.fetch, 'one-more@example.com');
    assert.equal(refused.status, 429);
    assert.match(await refused.text(), /from your network/);
  });

  test('session tokens never appear in the hub log (sign-in links do, by design, only with DEV_MODE and no SMTP)', async () => {
    const logs = hub.proc.logs();
    for (const session of [alice, bob]) assert.ok(!logs.includes(session.cookie.split('=')[1]!));
    assert.ok(!logs.includes(hub.adminToken) && !logs.includes(hub.hubSecret) && !logs.includes(spoke.hubToken) && !logs.includes(spoke.hostToken));
  });
});
