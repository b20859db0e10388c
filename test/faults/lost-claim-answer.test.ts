// A claim ends definitively: the hub commits a spoke's claim and its answer is lost on the way back (the
// connection is cut after the hub has answered). The spoke asks again until it knows, learns it won (the
// owner's repeated claim is answered with the payload) and builds: the capsul runs, without the reaper.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import https from 'node:https';
import type net from 'node:net';
import { after, before, describe, test } from 'node:test';
import { httpsFetch } from '~/lib/https-fetch';
import { recordFigures } from '../support/figures';
import { createTestDatabase } from '../support/postgres';
import { allOnline, freePort, startHubProcess, startSpokeProcess, until, type Hub, type SpokeHandle } from '../support/processes';
import { makeTestTls, type TestTls } from '../support/tls';

/**
 * An HTTPS proxy in front of the hub for one spoke's calls. It forwards each request and its answer, except
 * the answer to the first `spoke.claimOperation`: that request reaches the hub, the hub answers, and the
 * proxy cuts the spoke's connection instead of passing the answer on.
 */
async function startCuttingProxy(tls: TestTls, hubUrl: string) {
  const fetch = httpsFetch({ ca: readFileSync(tls.caFile) });
  const claims: { at: number; cut: boolean; hubStatus: number }[] = [];
  const server = https.createServer({ cert: readFileSync(tls.certFile), key: readFileSync(tls.keyFile) }, async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const headers = Object.fromEntries(Object.entries(req.headers).filter(([k, v]) => typeof v === 'string' && !['host', 'connection', 'content-length'].includes(k))) as Record<string, string>;
    const answer = await fetch(`${hubUrl}${req.url}`, { method: req.method, headers, body: chunks.length ? Buffer.concat(chunks) : undefined });
    const body = Buffer.from(await answer.arrayBuffer());
    if (req.url?.startsWith('/api/trpc/spoke.claimOperation')) {
      const cut = claims.length === 0;
      claims.push({ at: Date.now(), cut, hubStatus: answer.status });
      if (cut) {
        req.socket.destroy(); // the hub has answered (and committed); the spoke never hears it
        return;
      }
    }
    res.writeHead(answer.status, { 'content-type': answer.headers.get('content-type') ?? 'application/json' }).end(body);
  });
  const port = await freePort();
  await new Promise<void>((r) => server.listen(port, '127.0.0.1', r));
  return {
    url: `https://127.0.0.1:${(server.address() as net.AddressInfo).port}`,
    claims,
    close: () => {
      server.closeAllConnections();
      server.close();
    },
  };
}

describe('fault: the answer to a won claim is lost', () => {
  let tls: TestTls;
  let database: Awaited<ReturnType<typeof createTestDatabase>>;
  let hub: Hub;
  let spoke: SpokeHandle;
  let proxy: Awaited<ReturnType<typeof startCuttingProxy>>;

  before(async () => {
    tls = await makeTestTls();
    database = await createTestDatabase();
    // The reaper far away: it must not be what ends the create.
    hub = await startHubProcess({ databaseUrl: database.url, tls, env: { CREATE_DEADLINE_MS: '600000' } });
    proxy = await startCuttingProxy(tls, hub.url);
    spoke = await startSpokeProcess({ hub, hostId: 'cut-1', tls, env: { HUB_URL: proxy.url } });
    await allOnline(hub, ['cut-1']);
  });
  after(async () => {
    await spoke?.proc.stop();
    await hub?.proc.stop();
    proxy?.close();
    await database?.drop();
  });

  test('the spoke asks again, learns it won, builds: the capsul runs and nothing waits for the reaper', async () => {
    const started = Date.now();
    const created = await hub.admin.capsul.create.mutate({ owner: 'cut@example.com', image: 'debian-12', size: 'nano' });
    assert.equal(created.hostId, 'cut-1', 'the database gave it to the spoke whose claim answer was cut');
    const running = await until('the capsul running', async () => {
      const c = await hub.admin.capsul.byId.query({ id: created.capsulId });
      return c.state === 'running' && c;
    }, 30_000, 100);
    const ms = Date.now() - started;
    assert.equal(running.hostId, 'cut-1');
    assert.ok(proxy.claims.length >= 2, `the spoke asked again (${proxy.claims.length} claims)`);
    assert.equal(proxy.claims[0]!.cut, true);
    assert.equal(proxy.claims[0]!.hubStatus, 200, 'the first claim won at the hub');
    assert.equal(proxy.claims[1]!.hubStatus, 200, 'the repeated claim is answered with the payload');
    const [op] = await hub.admin.operation.list.query({ capsulId: created.capsulId, kind: 'create' });
    assert.equal(op!.state, 'completed');
    assert.equal(op!.reapedAt, null, 'ended by the owner, not the reaper');
    await recordFigures('lost-claim-answer', {
      fault: "the connection cut after the hub answered a winning claim (the spoke never hears it)",
      faultsInjected: 1,
      operations: 1,
      lost: 0,
      doubled: 0,
      worstRecoveryMs: proxy.claims[1]!.at - proxy.claims[0]!.at,
      notes: `the spoke asked again ${proxy.claims[1]!.at - proxy.claims[0]!.at} ms after the cut and was told it won; the capsul ran ${ms} ms after the create, by its owner's report`,
    });
  });
});
