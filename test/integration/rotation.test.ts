// Rotating a host's tokens without downtime, with a real hub and spoke: the hub token the hub presents to the
// spoke (HUB_TOKEN, `host rotate-hub-token`) and the token the spoke presents to the hub (SPOKE_HOST_TOKEN,
// `host rotate-token`). While the spoke still holds the old one it stays online; restarted with the new one it
// stays online and the old one is forgotten; a rotation with a short window cuts the old one off after it.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import pg from 'pg';
import { SPOKE_HOST_ID_HEADER } from '~/contract/hub';
import { httpsFetch, type FetchLike } from '~/lib/https-fetch';
import { newToken } from '~/lib/tokens';
import { createTestDatabase } from '../support/postgres';
import { allOnline, freePort, startHubProcess, startSpokeProcess, until, type Hub, type SpokeHandle } from '../support/processes';
import { makeTestTls, type TestTls } from '../support/tls';

const HOST = 'rot-1';
// The one HUB_TOKEN every spoke held before v1.1, for the upgrade test.
const SHARED = newToken();
// The hub's heartbeat period in these tests (startHubProcess): 1 s.
const HEARTBEAT_MS = 1000;

describe('token rotation without downtime', () => {
  let tls: TestTls;
  let database: Awaited<ReturnType<typeof createTestDatabase>>;
  let hub: Hub;
  let spoke: SpokeHandle;
  let fetch: FetchLike;

  const host = async (id = HOST) => (await hub.admin.host.list.query()).find((h) => h.id === id)!;
  /** The same host's spoke again (same port, folder), with the tokens given. */
  async function restartSpoke(tokens: { hostToken?: string; hubToken?: string }) {
    await spoke.proc.stop();
    spoke = await startSpokeProcess({
      hub, hostId: HOST, tls, port: spoke.port, stateDir: spoke.stateDir,
      hostToken: tokens.hostToken ?? spoke.hostToken, hubToken: tokens.hubToken ?? spoke.hubToken,
    });
  }
  /** Healthy now: online, last heartbeat fine. */
  async function healthy() {
    return until(`${HOST} online without an error`, async () => {
      const h = await host();
      return h.online && h.lastError === null && h;
    });
  }
  /**
   * Watches the host through `rounds` heartbeat rounds that begin after now: every sample must be online without
   * an error, and the hub logs no failed heartbeat for it.
   */
  async function staysHealthy(rounds: number, id = HOST) {
    const from = Date.now();
    const failedBefore = heartbeatFailures(id);
    const bad: unknown[] = [];
    await until(`${rounds} heartbeats of ${id} after ${new Date(from).toISOString()}`, async () => {
      const h = await host(id);
      if (!h.online || h.lastError !== null) bad.push({ online: h.online, lastError: h.lastError });
      return !!h.lastHealthCheck && h.lastHealthCheck.getTime() >= from + (rounds - 1) * HEARTBEAT_MS;
    }, 30_000, 100);
    assert.deepEqual(bad, [], 'no sample offline or with an error');
    assert.equal(heartbeatFailures(id), failedBefore, 'no failed heartbeat in the hub log');
  }
  const heartbeatFailures = (id: string) => hub.proc.logs().split('\n').filter((l) => l.includes('"msg":"heartbeat failed"') && l.includes(`"hostId":"${id}"`)).length;
  /** Waits for the heartbeat to fail for this reason, and says when that was first seen. */
  async function failsWith(pattern: RegExp) {
    await until(`${HOST}'s heartbeat failing with ${pattern}`, async () => pattern.test((await host()).lastError ?? ''), 30_000, 100);
    return Date.now();
  }
  const spokeList = (token: string) => fetch(`${spoke.url}/trpc/list`, { headers: { authorization: `Bearer ${token}` } });
  const hubHeartbeat = (token: string) =>
    fetch(`${hub.url}/api/trpc/spoke.heartbeat`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}`, [SPOKE_HOST_ID_HEADER]: HOST },
      body: JSON.stringify({ json: { driver: 'fake' } }),
    });

  before(async () => {
    tls = await makeTestTls();
    fetch = httpsFetch({ ca: readFileSync(tls.caFile) });
    database = await createTestDatabase();
    hub = await startHubProcess({ databaseUrl: database.url, tls, env: { HUB_SHARED_TOKEN: SHARED } });
    spoke = await startSpokeProcess({ hub, hostId: HOST, tls });
    await allOnline(hub, [HOST]);
    await healthy();
  });
  after(async () => {
    await spoke?.proc.stop();
    await hub?.proc.stop();
    await database?.drop();
  });

  test('hub token: rotated while the spoke holds the old one, it stays online; restarted with the new one, the old one is forgotten', async () => {
    const old = spoke.hubToken;
    const rotated = await hub.admin.host.rotateHubToken.mutate({ id: HOST });
    assert.notEqual(rotated.hubToken, old);
    assert.match(rotated.hubToken, /^[A-Za-z0-9_-]{43}$/);
    assert.ok(rotated.previous?.until && rotated.previous.until.getTime() > Date.now() + 3_600_000, 'the old one kept for the default window (a day)');
    assert.equal((await host()).hubToken, 'rotating');
    await staysHealthy(3);
    const fleet = await hub.admin.fleet.list.mutate();
    assert.deepEqual(fleet.failed, [], 'operations reach the spoke too');

    await restartSpoke({ hubToken: rotated.hubToken });
    await until('the previous hub token forgotten', async () => (await host()).hubToken === 'own');
    await healthy();
    assert.ok(hub.proc.logs().includes('"msg":"hub token rotation done'));
    await staysHealthy(2);
    assert.equal((await spokeList(old)).status, 401, 'the spoke refuses the old token');
    assert.equal((await spokeList(rotated.hubToken)).status, 200);

    // The hub no longer presents the old one: a spoke that still held it would be refused from now on.
    await restartSpoke({ hubToken: old });
    await failsWith(/UNAUTHORIZED: missing or wrong hub token/);
    await restartSpoke({ hubToken: rotated.hubToken });
    await healthy();
  });

  test('hub token: with a short window, a spoke still holding the old one is cut off once the window has passed', async () => {
    const windowMs = 5 * HEARTBEAT_MS;
    const rotatedAt = Date.now();
    const rotated = await hub.admin.host.rotateHubToken.mutate({ id: HOST, windowMs });
    const until_ = rotated.previous!.until!.getTime();
    assert.ok(Math.abs(until_ - (rotatedAt + windowMs)) < 2000);
    const failedAt = await failsWith(/UNAUTHORIZED: missing or wrong hub token/);
    assert.ok(failedAt >= until_, 'not before the window ended');
    assert.ok((await host()).lastHealthCheck!.getTime() > rotatedAt, 'heartbeats with the old token went through within the window');
    await restartSpoke({ hubToken: rotated.hubToken });
    await healthy();
    await until('no rotation under way', async () => (await host()).hubToken === 'own');
  });

  test('host token: rotated while the spoke presents the old one, it stays online; restarted with the new one, the old one is refused', async () => {
    const old = spoke.hostToken;
    const rotated = await hub.admin.host.update.mutate({ id: HOST, rotateToken: true });
    assert.ok(rotated.token && rotated.token !== old);
    assert.ok(rotated.previous?.until && rotated.previous.until.getTime() > Date.now() + 3_600_000);
    assert.equal((await host()).hostToken, 'rotating');
    await staysHealthy(3);

    await restartSpoke({ hostToken: rotated.token });
    await until('the previous host token forgotten', async () => (await host()).hostToken === 'own');
    await healthy();
    await staysHealthy(2);
    assert.equal((await hubHeartbeat(old)).status, 401, 'the hub refuses the old token');
    assert.equal((await hubHeartbeat(rotated.token)).status, 200);
  });

  test('host token: with a short window, a spoke still presenting the old one is refused once the window has passed', async () => {
    const windowMs = 5 * HEARTBEAT_MS;
    const rotatedAt = Date.now();
    const rotated = await hub.admin.host.update.mutate({ id: HOST, rotateToken: true, windowMs });
    const until_ = rotated.previous!.until!.getTime();
    const failedAt = await failsWith(/missing or wrong credentials/);
    assert.ok(failedAt >= until_, 'not before the window ended');
    assert.ok((await host()).lastHealthCheck!.getTime() > rotatedAt, 'heartbeats with the old token went through within the window');
    await restartSpoke({ hostToken: rotated.token! });
    await healthy();
  });

  test('upgrading from one shared HUB_TOKEN: a host from before keeps it until given its own, without going offline', async () => {
    // A host as the upgrade's migration leaves one: the initial salt, and the shared token as its previous one.
    const id = 'old-1';
    const sql = new pg.Client({ connectionString: database.url });
    await sql.connect();
    let old: SpokeHandle | undefined;
    try {
      const port = await freePort();
      const added = await hub.admin.host.add.mutate({ id, httpsUrl: `https://127.0.0.1:${port}` });
      await sql.query(`UPDATE "Host" SET "hubTokenSalt" = 'initial', "previousHubTokenSalt" = 'shared', "previousHubTokenUntil" = NULL WHERE id = $1`, [id]);
      old = await startSpokeProcess({ hub, hostId: id, tls, port, hostToken: added.token, hubToken: SHARED });
      await allOnline(hub, [id]);
      await staysHealthy(2, id);
      assert.equal((await host(id)).hubToken, 'shared');

      const rotated = await hub.admin.host.rotateHubToken.mutate({ id });
      assert.deepEqual(rotated.previous, { until: null }, 'the shared token stays, without a deadline, until the spoke takes its own');
      await staysHealthy(2, id);
      assert.equal((await host(id)).hubToken, 'shared');
      const stateDir = old.stateDir;
      await old.proc.stop();
      old = await startSpokeProcess({ hub, hostId: id, tls, port, stateDir, hostToken: added.token, hubToken: rotated.hubToken });
      await until('its own hub token in use', async () => {
        const h = await host(id);
        return h.online && h.lastError === null && h.hubToken === 'own';
      });
      const list = (token: string) => fetch(`${old!.url}/trpc/list`, { headers: { authorization: `Bearer ${token}` } });
      assert.equal((await list(SHARED)).status, 401);
      assert.equal((await list(rotated.hubToken)).status, 200);
    } finally {
      await old?.proc.stop();
      await sql.end();
    }
  });
});
