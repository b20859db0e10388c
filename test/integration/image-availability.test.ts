// Which images a create can get, said before anyone presses Create: spokes report their images with each
// heartbeat (here fake spokes with different FAKE_IMAGES), and `capsul.capacity` and `catalog.list` answer
// per image from those reports, asking no spoke and writing nothing.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { signIn, type Session } from '../support/accounts';
import { createTestDatabase } from '../support/postgres';
import { allOnline, startHubProcess, startSpokeProcess, type Hub, type SpokeHandle } from '../support/processes';
import { makeTestTls, type TestTls } from '../support/tls';

const ADMIN = 'images-admin@example.com';

describe('per-image availability', () => {
  let tls: TestTls;
  let database: Awaited<ReturnType<typeof createTestDatabase>>;
  let hub: Hub;
  const spokes: SpokeHandle[] = [];
  let member: Session;
  let admin: Session;

  before(async () => {
    tls = await makeTestTls();
    database = await createTestDatabase();
    hub = await startHubProcess({ databaseUrl: database.url, tls, env: { ADMIN_EMAILS: ADMIN } });
    // debian-12 on a small host, ubuntu-24.04 on a big one, alpine-3.20 on none.
    spokes.push(await startSpokeProcess({ hub, hostId: 'small-debian', tls, env: { FAKE_IMAGES: 'debian-12', FAKE_MEMORY_MB: '1024' } }));
    spokes.push(await startSpokeProcess({ hub, hostId: 'big-ubuntu', tls, env: { FAKE_IMAGES: 'ubuntu-24.04' } }));
    await allOnline(hub, ['small-debian', 'big-ubuntu']);
    member = await signIn(hub, tls, 'images@example.com');
    admin = await signIn(hub, tls, ADMIN);
  });
  after(async () => {
    await Promise.all(spokes.map((s) => s.proc.stop()));
    await hub?.proc.stop();
    await database?.drop();
  });

  test('a member is not offered an image no online host has', async () => {
    const catalog = await member.client.catalog.list.query();
    assert.deepEqual(catalog.images.map((i) => i.id), ['debian-12', 'ubuntu-24.04']);
    const capacity = await member.client.capsul.capacity.query({});
    assert.deepEqual(capacity.images, [{ id: 'debian-12', available: true }, { id: 'ubuntu-24.04', available: true }]);
    assert.equal('hosts' in capacity, false, 'members get no host details');
  });

  test('an admin sees that image, disabled, with why', async () => {
    const catalog = await admin.client.catalog.list.query();
    const alpine = catalog.images.find((i) => i.id === 'alpine-3.20');
    assert.equal(alpine?.unavailable, 'no online host has image alpine-3.20');
    assert.equal(catalog.images.find((i) => i.id === 'debian-12')?.unavailable, undefined);
    const capacity = await admin.client.capsul.capacity.query({});
    assert.deepEqual(capacity.images.find((i) => i.id === 'alpine-3.20'), {
      id: 'alpine-3.20', available: false, problem: 'missing', reason: 'no online host has image alpine-3.20',
    });
  });

  test('with a size: an image whose hosts have no room for it says so, per image', async () => {
    // medium is 2048 MiB: the host with debian-12 has 1024.
    const asMember = await member.client.capsul.capacity.query({ size: 'medium' });
    assert.equal(asMember.available, true, 'some host has room for the size');
    assert.deepEqual(asMember.images, [{ id: 'debian-12', available: false, problem: 'no_room' }, { id: 'ubuntu-24.04', available: true }]);
    const asAdmin = await admin.client.capsul.capacity.query({ size: 'medium' });
    assert.equal(asAdmin.images.find((i) => i.id === 'debian-12')?.reason, 'no room for Medium on the hosts that have it (small-debian)');
    assert.deepEqual((await member.client.capsul.capacity.query({ size: 'nano' })).images.map((i) => i.available), [true, true]);
  });

  test('what it said holds: the create from the image no host has is refused, the one it offered lands where the image is', async () => {
    await assert.rejects(member.client.capsul.create.mutate({ image: 'alpine-3.20', size: 'nano' }));
    const created = await member.client.capsul.create.mutate({ image: 'debian-12', size: 'nano' });
    const capsul = await member.client.capsul.byId.query({ id: created.capsulId });
    assert.equal(capsul.hostId, 'small-debian');
  });

  test('the answers are reads: no operation recorded, no spoke asked', async () => {
    const operations = async () => (await admin.client.operation.list.query({ limit: 500 })).length;
    const before = await operations();
    const calls = () => spokes.map((s) => s.proc.logs().split('\n').filter((l) => l.includes('"msg":"hub call"')).length);
    const callsBefore = calls();
    for (const who of [member, admin]) {
      await who.client.capsul.capacity.query({});
      await who.client.capsul.capacity.query({ size: 'small' });
      await who.client.catalog.list.query();
    }
    assert.equal(await operations(), before);
    assert.deepEqual(calls(), callsBefore);
  });
});
