// Several hubs see the same thing (issue 11, item 10): two hub processes on one PostgreSQL database and one
// spoke that calls back to hub A, so every change to a capsul is made in hub A. Accounts signed in through
// hub B watch their capsuls there (`capsul.watch`, server-sent events, as the console does): what hub A
// changes reaches the owner's stream on hub B, and no one else's.
import assert from 'node:assert/strict';
import { mkdtemp } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { signIn, type Session } from '../support/accounts';
import { CapsulWatch } from '../support/capsul-watch';
import { createTestDatabase } from '../support/postgres';
import { allOnline, startHubProcess, startSpokeProcess, until, type Hub, type SpokeHandle } from '../support/processes';
import { makeTestTls, type TestTls } from '../support/tls';

// The order a capsul's states come in; a watcher may miss one between two reads, never see one go back.
const LIFE = ['pending', 'creating', 'running', 'deleted'];

describe('several hubs on one database: a change made through one reaches watchers on the other', () => {
  let tls: TestTls;
  let database: Awaited<ReturnType<typeof createTestDatabase>>;
  let a: Hub;
  let b: Hub;
  let spoke: SpokeHandle;
  let alice: Session;
  let bob: Session;
  const watches: CapsulWatch[] = [];

  before(async () => {
    tls = await makeTestTls();
    database = await createTestDatabase();
    const env = { HEARTBEAT_PERIOD_MS: '500', ONLINE_WINDOW_MS: '5000' };
    a = await startHubProcess({ databaseUrl: database.url, tls, name: 'hub-a', env });
    // Two instances of one hub: the same tokens, each with a folder of its own.
    b = await startHubProcess({ databaseUrl: database.url, tls, name: 'hub-b', env, same: { hubSecret: a.hubSecret, adminToken: a.adminToken, dataDir: await mkdtemp(path.join(os.tmpdir(), 'capsul-hub-b-')) } });
    // The build takes two seconds, so a watcher reads the capsul while it is `creating`.
    spoke = await startSpokeProcess({ hub: a, hostId: 'w1', tls, env: { FAKE_CREATE_MS: '2000' } });
    await allOnline(a, ['w1']);
    alice = await signIn(b, tls, 'alice@example.com');
    bob = await signIn(b, tls, 'bob@example.com');
  });

  after(async () => {
    await Promise.all(watches.map((w) => w.close()));
    await spoke?.proc.stop();
    await a?.proc.stop();
    await b?.proc.stop();
    await database?.drop();
  });

  test('a create and a destroy through hub A reach the owner watching through hub B; another account watching there receives nothing of it', async () => {
    const alices = await CapsulWatch.open(b, alice);
    const bobs = await CapsulWatch.open(b, bob);
    watches.push(alices, bobs);
    await Promise.all([alices.connected, bobs.connected]);

    const created = await a.admin.capsul.create.mutate({ owner: alice.email, image: 'debian-12', size: 'nano' });
    await until('alice sees it running, through hub B', async () => alices.statesOf(created.capsulId).includes('running'), 20_000, 50);
    await a.admin.capsul.destroy.mutate({ id: created.capsulId });
    await until('alice sees it deleted, through hub B', async () => alices.statesOf(created.capsulId).includes('deleted'), 20_000, 50);

    const states = alices.statesOf(created.capsulId);
    assert.deepEqual(states.filter((s) => s !== 'pending'), ['creating', 'running', 'deleted'], `alice saw ${states.join(' → ')}`);
    assert.deepEqual(states, [...states].sort((x, y) => LIFE.indexOf(x) - LIFE.indexOf(y)), 'in the order they happened');

    // Bob's stream is live and in order: his own capsul, made after alice's was deleted, reaches it; by then
    // anything of alice's would have too.
    const his = await a.admin.capsul.create.mutate({ owner: bob.email, image: 'debian-12', size: 'nano' });
    await until('bob sees his own capsul running, through hub B', async () => bobs.statesOf(his.capsulId).includes('running'), 20_000, 50);
    assert.deepEqual(bobs.received.filter((c) => c.id === created.capsulId), [], "bob receives nothing of alice's capsul");
    assert.deepEqual(alices.received.filter((c) => c.id === his.capsulId), [], "nor alice of bob's");
    assert.deepEqual([...alices.errors, ...bobs.errors], [], 'no errors on either stream');
  });
});
