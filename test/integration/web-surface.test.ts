// The console's web surface against real processes over HTTPS: security headers on pages and on the API,
// the CSRF check against PUBLIC_URL, what errors say (no stack, no host internals for members), the local
// mailbox for loopback clients only, malformed cookies, and the files and settings a hub starts from.
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import https from 'node:https';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { TRPCClientError } from '@trpc/client';
import { createHubAdminClient } from '~/cli/hub-admin-client';
import type { HubRouter } from '~/hub/root';
import { httpsFetch, type FetchLike } from '~/lib/https-fetch';
import { clientWithCookie, linkTokensFor, requestLink, signIn, type Session } from '../support/accounts';
import { createTestDatabase } from '../support/postgres';
import { allOnline, CapsulProcess, freePort, ROOT, startHubProcess, startSpokeProcess, until, type Hub, type SpokeHandle } from '../support/processes';
import { makeTestTls, type TestTls } from '../support/tls';

const ADMIN = 'admin@example.com';
const KEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGvatMdwSOLaKEdOnZWAjMM8ufgWQtrOIXrHIPn9Swud alice@laptop';
const BAD_COOKIE = 'capsul_session=%E0%A4%A';

/** One of this machine's own addresses that is not loopback, if it has one. */
function lanAddress(): string | undefined {
  return Object.values(os.networkInterfaces())
    .flat()
    .find((a) => a && a.family === 'IPv4' && !a.internal)?.address;
}

type Failure = TRPCClientError<HubRouter> & { data?: { code?: string; hosts?: unknown } };

async function failure(call: Promise<unknown>): Promise<Failure> {
  const err = await call.then(() => undefined, (e: unknown) => e);
  assert.ok(err instanceof TRPCClientError, `expected a tRPC error, got ${String(err)}`);
  return err as Failure;
}

function scriptSrc(csp: string | null): string {
  return (csp ?? '').split(';').map((d) => d.trim()).find((d) => d.startsWith('script-src')) ?? '';
}

describe("the console's web surface", () => {
  let tls: TestTls;
  let database: Awaited<ReturnType<typeof createTestDatabase>>;
  let hub: Hub;
  let spoke: SpokeHandle;
  let fetch: FetchLike;
  let member: Session;
  let admin: Session;
  const lan = lanAddress();

  before(async () => {
    tls = await makeTestTls(['localhost', '127.0.0.1', ...(lan ? [lan] : [])]);
    fetch = httpsFetch({ ca: readFileSync(tls.caFile) });
    database = await createTestDatabase();
    const port = await freePort();
    const url = `https://127.0.0.1:${port}`;
    // Bound to every address (so a LAN client can reach the mailbox), and NODE_ENV unset, as the quick start
    // runs: tRPC then thinks it is in development.
    const started = await startHubProcess({
      databaseUrl: database.url,
      tls,
      port,
      bind: '0.0.0.0',
      env: { NODE_ENV: '', ADMIN_EMAILS: ADMIN, PUBLIC_URL: url },
    });
    hub = { ...started, url, admin: createHubAdminClient({ hubUrl: url, adminToken: started.adminToken, ca: readFileSync(tls.caFile) }) };
    // The only image this host has is debian-12.
    spoke = await startSpokeProcess({ hub, hostId: 'spoke-a', tls, env: { NODE_ENV: '', FAKE_IMAGES: 'debian-12', FAKE_CREATE_MS: '50' } });
    await allOnline(hub, ['spoke-a']);
    member = await signIn(hub, tls, 'member@example.com');
    admin = await signIn(hub, tls, ADMIN);
  });

  after(async () => {
    await spoke?.proc.stop();
    await hub?.proc.stop();
    await database?.drop();
  });

  test('pages carry the security headers and a fresh script nonce, which every script of the page carries', async () => {
    const nonces = new Set<string>();
    for (const [page, cookie] of [['/login', ''], ['/capsuls', member.cookie], ['/capsuls/new', member.cookie], ['/no-such-page', '']] as const) {
      // A nonce the client offers is not the one used.
      const res = await fetch(`${hub.url}${page}`, { headers: { cookie, 'content-security-policy': "script-src 'nonce-chosenbytheclient'" } });
      assert.ok(res.status === 200 || (page === '/no-such-page' && res.status === 404), `${page}: ${res.status}`);
      const csp = res.headers.get('content-security-policy');
      const scripts = scriptSrc(csp);
      const nonce = /'nonce-([A-Za-z0-9+/=]+)'/.exec(scripts)?.[1];
      assert.ok(nonce && nonce !== 'chosenbytheclient', `${page}: a nonce of the hub's own in ${csp}`);
      assert.ok(!scripts.includes("'unsafe-inline'"), `${page}: no unsafe-inline scripts`);
      assert.match(csp ?? '', /frame-ancestors 'none'/);
      assert.match(csp ?? '', /object-src 'none'/);
      assert.equal(res.headers.get('x-frame-options'), 'DENY');
      assert.equal(res.headers.get('x-content-type-options'), 'nosniff');
      assert.equal(res.headers.get('referrer-policy'), 'same-origin');
      assert.match(res.headers.get('strict-transport-security') ?? '', /^max-age=\d{7,}/);
      const html = await res.text();
      const tags = html.match(/<script\b[^>]*>/g) ?? [];
      assert.ok(tags.length > 0, `${page} has scripts`);
      for (const tag of tags) assert.ok(tag.includes(`nonce="${nonce}"`), `${page}: ${tag} carries the nonce`);
      nonces.add(nonce);
    }
    assert.equal(nonces.size, 4, 'a new nonce for every request');
  });

  test('API answers carry them too, with a policy that allows nothing to load', async () => {
    for (const [url, status] of [[`${hub.url}/api/trpc/catalog.list`, 401], [`${hub.url}/api/trpc/auth.requestLink`, 405]] as const) {
      const res = await fetch(url);
      assert.equal(res.status, status, url);
      assert.equal(res.headers.get('content-security-policy'), "default-src 'none'; frame-ancestors 'none'");
      assert.equal(res.headers.get('x-frame-options'), 'DENY');
      assert.equal(res.headers.get('x-content-type-options'), 'nosniff');
      assert.equal(res.headers.get('referrer-policy'), 'same-origin');
      assert.match(res.headers.get('strict-transport-security') ?? '', /^max-age=/);
    }
    const signedIn = await fetch(`${hub.url}/api/trpc/account.me`, { headers: { cookie: member.cookie } });
    assert.equal(signedIn.status, 200);
    assert.equal(signedIn.headers.get('x-frame-options'), 'DENY');
  });

  test("a mutation is refused unless its Origin is PUBLIC_URL's, scheme and port included", async () => {
    const port = new URL(hub.url).port;
    for (const origin of [`http://127.0.0.1:${port}`, `https://127.0.0.1:${Number(port) + 1}`, `https://localhost:${port}`]) {
      const client = clientWithCookie(hub, member.fetch, member.cookie, origin);
      const err = await failure(client.sshKey.add.mutate({ name: 'csrf', content: KEY }));
      assert.equal(err.data?.code, 'FORBIDDEN', origin);
    }
    // The Host header is the client's to choose: a page on another site whose Host matches its Origin.
    const forged = await new Promise<number>((resolve, reject) => {
      const req = https.request(`${hub.url}/api/trpc/sshKey.add`, {
        method: 'POST',
        ca: readFileSync(tls.caFile),
        servername: 'localhost', // the certificate's name; the Host header below is another
        headers: { host: 'evil.example', origin: 'https://evil.example', cookie: member.cookie, 'content-type': 'application/json' },
      }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on('error', reject);
      req.end(JSON.stringify({ json: { name: 'csrf', content: KEY } }));
    });
    assert.equal(forged, 403);
    assert.deepEqual(await member.client.sshKey.list.query(), [], 'no key was added');
    const added = await member.client.sshKey.add.mutate({ name: 'laptop', content: KEY });
    await member.client.sshKey.remove.mutate({ id: added.id });
  });

  test('no error shape carries a stack, from the hub or from a spoke', async () => {
    const bodies: string[] = [];
    const asText = async (res: Response) => {
      const body = await res.text();
      assert.ok(res.status >= 400 || res.status === 207, `${res.url}: ${res.status}`); // 207: a batch, one failed
      bodies.push(body);
    };
    const post = (url: string, input: unknown, headers: Record<string, string> = {}) =>
      fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', origin: hub.url, ...headers }, body: JSON.stringify({ json: input }) });
    await asText(await fetch(`${hub.url}/api/trpc/host.list`)); // 401
    await asText(await fetch(`${hub.url}/api/trpc/host.list`, { headers: { cookie: member.cookie } })); // 403
    await asText(await post(`${hub.url}/api/trpc/capsul.create`, { image: 'no such image!', size: 5 }, { cookie: member.cookie })); // 400
    await asText(await fetch(`${hub.url}/api/trpc/capsul.byId?input=${encodeURIComponent(JSON.stringify({ json: { id: 'capsul-0000000000' } }))}`, { headers: { cookie: member.cookie } })); // 404
    await asText(await fetch(`${hub.url}/api/trpc/nothing.here`)); // 404, no such procedure
    await asText(await fetch(`${hub.url}/api/trpc/catalog.list,host.list?batch=1&input={}`, { headers: { cookie: member.cookie } })); // a batch
    await asText(await post(`${spoke.url}/trpc/destroy`, { id: 'capsul-0000000000' })); // 401
    await asText(await post(`${spoke.url}/trpc/destroy`, { id: '../../etc' }, { authorization: `Bearer ${spoke.hubToken}` })); // 400
    await asText(await post(`${spoke.url}/trpc/get`, { id: 'capsul-0000000000' }, { authorization: `Bearer ${spoke.hubToken}` })); // 405 (a query)
    for (const body of bodies) {
      assert.ok(!body.includes('"stack"'), `no stack in ${body.slice(0, 300)}`);
      assert.ok(!body.includes(ROOT) && !body.includes('node_modules'), `no path in ${body.slice(0, 300)}`);
    }
  });

  test("a member's failed create names no host and no reason; an admin sees every host's reason", async () => {
    const err = await failure(member.client.capsul.create.mutate({ image: 'ubuntu-24.04', size: 'nano' }));
    assert.equal(err.data?.code, 'PRECONDITION_FAILED');
    assert.equal(err.message, 'No host has this image right now. Pick another image, or tell the operator.');
    assert.equal(err.data?.hosts, null);
    const failed = (await member.client.capsul.list.query({ includeDeleted: true })).find((c) => c.state === 'failed');
    assert.ok(failed, 'the failed capsul is listed');
    const detail = await member.client.capsul.byId.query({ id: failed.id });
    const operations = await member.client.capsul.operations.query({ id: failed.id });
    for (const text of [detail.error, ...operations.map((o) => o.error)]) {
      assert.ok(text && !text.includes('spoke-a') && !text.includes('on this host'), `member sees: ${text}`);
    }

    const reason = { hostId: 'spoke-a', status: 'not_applicable', reason: 'image ubuntu-24.04 is not on this host' };
    for (const client of [admin.client, hub.admin]) {
      const adminErr = await failure(client.capsul.create.mutate({ image: 'ubuntu-24.04', size: 'nano', owner: client === hub.admin ? 'member@example.com' : undefined }));
      assert.equal(adminErr.data?.code, 'PRECONDITION_FAILED');
      assert.match(adminErr.message, /spoke-a: not_applicable \(image ubuntu-24.04 is not on this host\)/);
      assert.deepEqual(adminErr.data?.hosts, [reason]);
    }
    assert.match((await admin.client.capsul.byId.query({ id: failed.id })).error ?? '', /spoke-a: not_applicable/);
  });

  test('/dev/mailbox answers a browser on this machine, not one on the network', async (t) => {
    if (!lan) return t.skip('this machine has no non-loopback IPv4 address');
    await requestLink(hub, fetch, 'mailbox@example.com');
    const token = await until('the link in the log', async () => linkTokensFor(hub, 'mailbox@example.com')[0], 10_000, 50);
    const local = await fetch(`${hub.url}/dev/mailbox`);
    assert.equal(local.status, 200);
    assert.ok((await local.text()).includes(token), 'the loopback client sees the link');
    const remote = await fetch(`https://${lan}:${hub.port}/dev/mailbox`);
    assert.equal(remote.status, 404);
    const body = await remote.text();
    assert.ok(!body.includes('login/verify') && !body.includes(token), 'no link for the network');
  });

  test('a malformed session cookie is "signed out" on pages and procedures, never a 500', async () => {
    const page = await fetch(`${hub.url}/capsuls`, { headers: { cookie: BAD_COOKIE }, redirect: 'manual' });
    assert.equal(page.status, 307, 'sent to sign in');
    assert.match(page.headers.get('location') ?? '', /\/login$/);
    const login = await fetch(`${hub.url}/login`, { headers: { cookie: `other=1; ${BAD_COOKIE}` } });
    assert.equal(login.status, 200);
    const query = await fetch(`${hub.url}/api/trpc/account.me`, { headers: { cookie: BAD_COOKIE } });
    assert.equal(query.status, 401);
    const mutation = await fetch(`${hub.url}/api/trpc/sshKey.add`, {
      method: 'POST',
      headers: { cookie: BAD_COOKIE, origin: hub.url, 'content-type': 'application/json' },
      body: JSON.stringify({ json: { name: 'x', content: KEY } }),
    });
    assert.equal(mutation.status, 401);
  });

  test('without SMTP_URL and without DEV_MODE, the hub says at start that nobody can sign in, and writes no link', async () => {
    const closed = await startHubProcess({ tls, env: { DEV_MODE: 'false' }, name: 'no-mail-hub' }); // embedded PGlite
    try {
      const said = await closed.proc.waitFor((l) => /nobody can sign in/.test(l.msg ?? ''), 5000);
      assert.match(said.msg!, /SMTP_URL/);
      assert.match(said.msg!, /DEV_MODE=true/);
      const asked = await requestLink(closed, fetch, 'someone@example.com');
      assert.equal(asked.status, 503);
      assert.match(await asked.text(), /cannot send sign-in links/);
      assert.equal((await fetch(`${closed.url}/dev/mailbox`)).status, 404);
      assert.ok(!closed.proc.logs().includes('login/verify'), 'no sign-in link in the log');
    } finally {
      await closed.proc.stop();
    }
  });

  test('a secrets.json that cannot be read or parsed stops the hub, naming the file', async () => {
    for (const [what, make] of [
      ['not JSON', (file: string) => writeFile(file, '{"hubToken": "abc')],
      ['not the tokens', (file: string) => writeFile(file, JSON.stringify({ hubToken: 42 }))],
      ['unreadable', (file: string) => mkdir(file)],
    ] as const) {
      const dataDir = await mkdtemp(path.join(os.tmpdir(), 'capsul-secrets-'));
      const file = path.join(dataDir, 'secrets.json');
      await make(file);
      const err = await CapsulProcess.start(`broken-secrets (${what})`, { HUB_MODE: 'true', SPOKE_MODE: 'false', DATA_DIR: dataDir, PORT: String(await freePort()) }, {
        ready: () => false,
        timeoutMs: 30_000,
      }).then(() => assert.fail('it should not start'), (e: Error) => e);
      assert.match(err.message, /exited \(1\)/, what);
      assert.ok(err.message.includes(file), `${what}: the message names ${file}: ${err.message}`);
      assert.doesNotMatch(err.message, /hub listening/);
    }
  });
});
