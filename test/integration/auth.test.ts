// Authentication between hub and spokes, and for the operator, against separate processes over HTTPS.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { SPOKE_HOST_ID_HEADER } from '~/contract/hub';
import { httpsFetch, type FetchLike } from '~/lib/https-fetch';
import { createTestDatabase } from '../support/postgres';
import { allOnline, CapsulProcess, startHubProcess, startSpokeProcess, until, type Hub, type SpokeHandle } from '../support/processes';
import { makeTestTls, type TestTls } from '../support/tls';
import { linkTokensFor, requestLink } from '../support/accounts';

const enc = (input: unknown) => encodeURIComponent(JSON.stringify({ json: input }));

describe('authentication', () => {
  let tls: TestTls;
  let database: Awaited<ReturnType<typeof createTestDatabase>>;
  let hub: Hub;
  let a: SpokeHandle;
  let b: SpokeHandle;
  let fetch: FetchLike;
  let capsulId: string;

  before(async () => {
    tls = await makeTestTls();
    fetch = httpsFetch({ ca: readFileSync(tls.caFile) });
    database = await createTestDatabase();
    hub = await startHubProcess({ databaseUrl: database.url, tls });
    [a, b] = await Promise.all([startSpokeProcess({ hub, hostId: 'spoke-a', tls }), startSpokeProcess({ hub, hostId: 'spoke-b', tls })]);
    await allOnline(hub, ['spoke-a', 'spoke-b']);
    const created = await hub.admin.capsul.create.mutate({ owner: 'auth@example.com', image: 'debian-12', size: 'nano' });
    capsulId = created.capsulId;
    await until('running', async () => (await hub.admin.capsul.byId.query({ id: capsulId })).state === 'running');
  });

  after(async () => {
    await Promise.all([a?.proc.stop(), b?.proc.stop()]);
    await hub?.proc.stop();
    await database?.drop();
  });

  test('every spoke procedure refuses a missing or wrong hub token with 401, and does nothing', async () => {
    const ownerId = (await hub.admin.capsul.byId.query({ id: capsulId })).hostId;
    const spoke = [a, b].find((s) => s.hostId === ownerId)!;
    const before = await hub.admin.fleet.list.mutate();
    const calls: [string, 'GET' | 'POST', unknown][] = [
      ['heartbeat', 'POST', undefined],
      ['capacityAvailable', 'GET', { memoryMb: 512, diskGb: 10 }],
      ['list', 'GET', undefined],
      ['get', 'GET', { id: capsulId }],
      ['vmState', 'POST', { id: capsulId, command: 'forceStop' }],
      ['destroy', 'POST', { id: capsulId }],
      ['create', 'POST', { operationId: crypto.randomUUID(), id: 'capsul-aaaaaaaaaa', vcpus: 1, memoryMb: 512, diskGb: 10, image: 'debian-12', imageFiles: { disk: 'd.qcow2' }, sshAuthorizedKeys: [] }],
    ];
    const other = spoke === a ? b : a;
    const wrong = [undefined, 'Bearer wrong-token-wrong-token-wrong-token-x', `Bearer ${spoke.hubToken}x`, `Basic ${spoke.hubToken}`, `Bearer ${other.hubToken}`, `Bearer ${hub.hubSecret}`];
    for (const authorization of wrong) {
      for (const [procedure, method, input] of calls) {
        const url = method === 'GET' ? `${spoke.url}/trpc/${procedure}${input ? `?input=${enc(input)}` : ''}` : `${spoke.url}/trpc/${procedure}`;
        const res = await fetch(url, {
          method,
          headers: { 'content-type': 'application/json', ...(authorization ? { authorization } : {}) },
          body: method === 'POST' ? JSON.stringify({ json: input }) : undefined,
        });
        assert.equal(res.status, 401, `${procedure} with ${authorization ?? 'no token'}`);
        const body = (await res.json()) as { error: { json: { data: { code: string } } } };
        assert.equal(body.error.json.data.code, 'UNAUTHORIZED');
      }
    }
    const after = await hub.admin.fleet.list.mutate();
    assert.deepEqual(after.capsuls, before.capsuls, 'nothing changed on any spoke');
    assert.equal(after.capsuls.find((c) => c.id === capsulId)?.state, 'running');
  });

  test("one host's hub token gets 401 from another host's spoke, which does nothing", async () => {
    const ownerId = (await hub.admin.capsul.byId.query({ id: capsulId })).hostId;
    const owner = [a, b].find((s) => s.hostId === ownerId)!;
    const other = owner === a ? b : a;
    assert.notEqual(owner.hubToken, other.hubToken, 'each host has its own hub token');
    const call = (spoke: SpokeHandle, token: string, procedure: 'list' | 'destroy') =>
      fetch(`${spoke.url}/trpc/${procedure}`, {
        method: procedure === 'list' ? 'GET' : 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
        body: procedure === 'list' ? undefined : JSON.stringify({ json: { id: capsulId } }),
      });
    // The other host's hub token presented to the owner (the capsul's host), and the owner's to the other.
    for (const [spoke, token] of [[owner, other.hubToken], [other, owner.hubToken]] as const) {
      for (const procedure of ['list', 'destroy'] as const) {
        const res = await call(spoke, token, procedure);
        assert.equal(res.status, 401, `${procedure} on ${spoke.hostId} with another host's hub token`);
        await res.body?.cancel();
      }
    }
    // Its own token opens it: the owner still lists the capsul, running.
    const own = await call(owner, owner.hubToken, 'list');
    assert.equal(own.status, 200);
    const listed = (await own.json()) as { result: { data: { json: { capsuls: { id: string; state: string }[] } } } };
    assert.deepEqual(listed.result.data.json.capsuls.find((c) => c.id === capsulId), { id: capsulId, state: 'running' });
    assert.equal((await hub.admin.capsul.byId.query({ id: capsulId })).state, 'running');
  });

  test('hub spoke.* procedures refuse another host\'s token, an unknown host id and a missing header', async () => {
    const [op] = await hub.admin.operation.list.query({ capsulId, kind: 'create' });
    const hostsBefore = await hub.admin.host.list.query();
    const attempts: Record<string, string>[] = [
      { [SPOKE_HOST_ID_HEADER]: 'spoke-a', authorization: `Bearer ${b.hostToken}` },
      { [SPOKE_HOST_ID_HEADER]: 'spoke-b', authorization: `Bearer ${a.hostToken}` },
      { [SPOKE_HOST_ID_HEADER]: 'nobody', authorization: `Bearer ${a.hostToken}` },
      { authorization: `Bearer ${a.hostToken}` },
      { [SPOKE_HOST_ID_HEADER]: 'spoke-a' },
      { [SPOKE_HOST_ID_HEADER]: 'spoke-a', authorization: `Bearer ${a.hubToken}` },
      { [SPOKE_HOST_ID_HEADER]: 'spoke-b', authorization: `Bearer ${a.hubToken}` },
      { [SPOKE_HOST_ID_HEADER]: 'spoke-a', authorization: `Bearer ${hub.adminToken}` },
    ];
    const calls: [string, unknown][] = [
      ['spoke.heartbeat', { driver: 'fake' }],
      ['spoke.claimOperation', { operationId: op!.id }],
      ['spoke.completeOperation', { operationId: op!.id, result: { ok: false, error: 'forged' } }],
    ];
    for (const headers of attempts) {
      for (const [procedure, input] of calls) {
        const res = await fetch(`${hub.url}/api/trpc/${procedure}`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', ...headers },
          body: JSON.stringify({ json: input }),
        });
        assert.equal(res.status, 401, `${procedure} with ${JSON.stringify(headers)}`);
      }
    }
    const [opAfter] = await hub.admin.operation.list.query({ capsulId, kind: 'create' });
    assert.deepEqual(opAfter, op, 'the operation is untouched');
    assert.equal((await hub.admin.capsul.byId.query({ id: capsulId })).state, 'running');
    const hostsAfter = await hub.admin.host.list.query();
    assert.deepEqual(hostsAfter.map((h) => h.lastError), hostsBefore.map((h) => h.lastError));
  });

  test('operator procedures refuse a missing or wrong admin token', async () => {
    for (const authorization of [undefined, `Bearer ${hub.hubSecret}`, `Bearer ${a.hubToken}`, `Bearer ${a.hostToken}`]) {
      const res = await fetch(`${hub.url}/api/trpc/host.list`, { headers: authorization ? { authorization } : {} });
      assert.equal(res.status, 401);
      const create = await fetch(`${hub.url}/api/trpc/host.add`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...(authorization ? { authorization } : {}) },
        body: JSON.stringify({ json: { id: 'sneaky', httpsUrl: 'https://127.0.0.1:9' } }),
      });
      assert.equal(create.status, 401);
    }
    assert.ok(!(await hub.admin.host.list.query()).some((h) => h.id === 'sneaky'));
  });

  test('a plain http:// host URL is refused', async () => {
    await assert.rejects(hub.admin.host.add.mutate({ id: 'plain', httpsUrl: 'http://127.0.0.1:8443' }), (err: Error & { data?: { code?: string } }) => {
      assert.equal(err.data?.code, 'BAD_REQUEST');
      assert.deepEqual((err.data as { issues?: { path: string }[] }).issues?.map((i) => i.path), ['httpsUrl']);
      assert.match(err.message, /^Must be https:\/\/ \(plain http:\/\/ only with ALLOW_INSECURE_HTTP=true/);
      return true;
    });
    assert.ok(!(await hub.admin.host.list.query()).some((h) => h.id === 'plain'));
  });

  test('a spoke given an http:// hub URL stops at start and names HUB_URL', async () => {
    const failed = await CapsulProcess.start('bad-spoke', {
      HUB_MODE: 'false', SPOKE_MODE: 'true', HUB_URL: 'http://127.0.0.1:3000', HUB_TOKEN: a.hubToken,
      SPOKE_HOST_ID: 'x', SPOKE_HOST_TOKEN: a.hostToken, SPOKE_DRIVER: 'fake',
    }, { ready: () => false, timeoutMs: 30_000 }).then(() => assert.fail('it should not start'), (err: Error) => err);
    assert.match(failed.message, /exited \(1\)/);
    assert.match(failed.message, /HUB_URL: must be https:\/\//);
  });

  test('development flags: ALLOW_INSECURE_HTTP accepts an http:// host URL; DEV_MODE shows sign-in mail on /dev/mailbox', async () => {
    const dev = await startHubProcess({ tls, env: { ALLOW_INSECURE_HTTP: 'true', DEV_MODE: 'true' }, name: 'dev-hub' }); // embedded PGlite
    try {
      const added = await dev.admin.host.add.mutate({ id: 'plain', httpsUrl: 'http://127.0.0.1:8443' });
      assert.equal(added.httpsUrl, 'http://127.0.0.1:8443');
      await requestLink(dev, fetch, 'dev@example.com');
      const page = await (await fetch(`${dev.url}/dev/mailbox`)).text();
      const [token] = linkTokensFor(dev, 'dev@example.com');
      assert.ok(token, 'the link is in the log too');
      assert.ok(page.includes(`/login/verify?token=${token}`), 'the mailbox page shows the link');
    } finally {
      await dev.proc.stop();
    }
  });

  test('plain HTTP gets no answer from the hub or a spoke', async () => {
    for (const port of [hub.port, a.port]) {
      const err = await globalThis.fetch(`http://127.0.0.1:${port}/`, { signal: AbortSignal.timeout(5000) }).then(
        (res) => `answered ${res.status}`,
        (e: Error) => e,
      );
      assert.ok(err instanceof Error, `port ${port}: ${String(err)}`);
    }
  });

  // Last: reads every log line the processes above wrote.
  test('no token ever appears in a log line', async () => {
    const secrets = [hub.hubSecret, hub.adminToken, a.hostToken, b.hostToken, a.hubToken, b.hubToken];
    for (const proc of [hub.proc, a.proc, b.proc]) {
      const logs = proc.logs();
      assert.ok(logs.split("\n").length > 3, `${proc.name} logged`);
      for (const secret of secrets) assert.ok(!logs.includes(secret), `${proc.name} logged a token`);
    }
  });
});
