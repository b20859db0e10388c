// Optional mutual TLS: a spoke with SPOKE_REQUIRE_CLIENT_CERT serves only callers with a certificate from
// its CA. The hub presents one; anything else is turned away during the handshake.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { httpsFetch } from '~/lib/https-fetch';
import { createTestDatabase } from '../support/postgres';
import { allOnline, startHubProcess, startSpokeProcess, until, type Hub, type SpokeHandle } from '../support/processes';
import { makeTestTls, type TestTls } from '../support/tls';

describe('mutual TLS between hub and spoke', () => {
  let tls: TestTls;
  let other: TestTls;
  let database: Awaited<ReturnType<typeof createTestDatabase>>;
  let hub: Hub;
  let spoke: SpokeHandle;

  before(async () => {
    tls = await makeTestTls();
    other = await makeTestTls();
    database = await createTestDatabase();
    hub = await startHubProcess({ databaseUrl: database.url, tls });
    spoke = await startSpokeProcess({ hub, hostId: 'strict', tls, env: { SPOKE_REQUIRE_CLIENT_CERT: 'true' } });
  });
  after(async () => {
    await spoke?.proc.stop();
    await hub?.proc.stop();
    await database?.drop();
  });

  test('the hub, presenting its certificate, works with the spoke', async () => {
    await allOnline(hub, ['strict']);
    const created = await hub.admin.capsul.create.mutate({ owner: 'mtls@example.com', image: 'debian-12', size: 'nano' });
    await until('running', async () => (await hub.admin.capsul.byId.query({ id: created.capsulId })).state === 'running');
  });

  test('a caller without a client certificate, or with one from another CA, is refused in the handshake', async () => {
    const ca = readFileSync(tls.caFile);
    const attempts = {
      none: httpsFetch({ ca }),
      foreign: httpsFetch({ ca, cert: readFileSync(other.certFile), key: readFileSync(other.keyFile) }),
    };
    for (const [name, fetch] of Object.entries(attempts)) {
      const err = await fetch(`${spoke.url}/trpc/list`, { headers: { authorization: `Bearer ${spoke.hubToken}` } }).then(
        () => null,
        (e: Error) => e,
      );
      assert.ok(err, `${name}: refused`);
      assert.match(String((err as Error & { cause?: Error }).cause?.message ?? err.message), /certificate|socket|disconnected|closed|handshake|ECONNRESET/i, name);
    }
    const withCert = httpsFetch({ ca, cert: readFileSync(tls.certFile), key: readFileSync(tls.keyFile) });
    assert.equal((await withCert(`${spoke.url}/trpc/list`, { headers: { authorization: `Bearer ${spoke.hubToken}` } })).status, 200);
  });
});
