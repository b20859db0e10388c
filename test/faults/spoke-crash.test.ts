// kill -9 the owner spoke in the middle of a create. Started again, it finishes the interrupted build; never
// started again, the hub's reaper ends the create after its deadline (and a spoke back after that still
// finishes it: the owner's word wins). Either way nothing stays stuck. And a spoke stopped while its claim was
// out asks the hub on restart, and drops the journal of another host's create.
import assert from 'node:assert/strict';
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { recordFigures } from '../support/figures';
import { createTestDatabase } from '../support/postgres';
import { allOnline, startHubProcess, startSpokeProcess, until, type Hub, type SpokeHandle } from '../support/processes';
import { makeTestTls, type TestTls } from '../support/tls';

const TERMINAL = ['running', 'failed'];

describe('fault: the owner spoke dies mid-create', () => {
  let tls: TestTls;
  let database: Awaited<ReturnType<typeof createTestDatabase>>;
  let hub: Hub;
  let spoke: SpokeHandle;
  const recoveries: number[] = [];

  before(async () => {
    tls = await makeTestTls();
    database = await createTestDatabase();
    hub = await startHubProcess({ databaseUrl: database.url, tls, env: { CREATE_DEADLINE_MS: '8000', REAPER_PERIOD_MS: '1000', SPOKE_CALL_TIMEOUT_MS: '2000' } });
    spoke = await startSpokeProcess({ hub, hostId: 'owner', tls, env: { FAKE_CREATE_MS: '5000' } });
    await allOnline(hub, ['owner']);
  });
  after(async () => {
    await spoke?.proc.stop();
    await hub?.proc.stop();
    await database?.drop();
  });

  test('killed and started again: the spoke finishes the interrupted build, the create ends running', async () => {
    for (let round = 0; round < 3; round++) {
      const created = await hub.admin.capsul.create.mutate({ owner: 'crash@example.com', image: 'debian-12', size: 'nano' });
      assert.equal((await hub.admin.capsul.byId.query({ id: created.capsulId })).state, 'creating');
      await spoke.proc.kill();
      spoke = await startSpokeProcess({ hub, hostId: 'owner', tls, port: spoke.port, hostToken: spoke.hostToken, hubToken: spoke.hubToken, stateDir: spoke.stateDir, env: { FAKE_CREATE_MS: '5000' } });
      const restarted = Date.now();
      // Until its owner reports it. (On a slow machine the restart and the resumed build can outlast the short
      // CREATE_DEADLINE_MS this suite sets for its reaper test: the reaper's verdict then comes first, and the
      // owner's report replaces it.)
      const op = await until('the owner reported the create', async () => {
        const [o] = await hub.admin.operation.list.query({ capsulId: created.capsulId, kind: 'create' });
        return o?.completedAt && !o.reapedAt ? o : undefined;
      }, 30_000, 100);
      recoveries.push(Date.now() - restarted);
      const ended = await hub.admin.capsul.byId.query({ id: created.capsulId });
      assert.equal(ended.state, 'running', ended.error ?? '');
      assert.equal(op.state, 'completed');
      // One VM, on its owner.
      const fleet = await hub.admin.fleet.list.mutate();
      assert.deepEqual(fleet.capsuls.filter((c) => c.id === created.capsulId).map((c) => [c.hostId, c.state]), [['owner', 'running']]);
    }
  });

  test('a spoke stopped while its claim was out finds its journal on restart, asks the hub, and drops it: the create is another host\'s', async () => {
    // A bystander with no room: it is offered every create and never wins one.
    let bystander = await startSpokeProcess({ hub, hostId: 'bystander', tls, env: { FAKE_MEMORY_MB: '100' } });
    await allOnline(hub, ['owner', 'bystander']);
    const created = await hub.admin.capsul.create.mutate({ owner: 'crash@example.com', image: 'debian-12', size: 'nano' });
    assert.equal(created.hostId, 'owner');
    const op = await hub.admin.operation.byId.query({ id: created.operationId });
    assert.ok(op.hostOperations.some((h) => h.hostId === 'bystander'), 'the bystander was offered it');
    // What a spoke killed between writing its journal and hearing its claim's answer leaves behind.
    await bystander.proc.kill();
    await mkdir(path.join(bystander.stateDir, 'builds'), { recursive: true });
    await writeFile(path.join(bystander.stateDir, 'builds', `${op.id}.json`), JSON.stringify(op.payload));
    bystander = await startSpokeProcess({ hub, hostId: 'bystander', tls, port: bystander.port, hostToken: bystander.hostToken, hubToken: bystander.hubToken, stateDir: bystander.stateDir, env: { FAKE_MEMORY_MB: '100' } });
    await bystander.proc.waitFor((l) => l.msg === "interrupted offer: the create is not this host's to build" && l.operationId === op.id);
    assert.deepEqual(await readdir(path.join(bystander.stateDir, 'builds')), [], 'the journal is gone');
    assert.ok(!bystander.proc.logs().includes('resuming an interrupted build'), 'nothing was built for it');
    const ended = await until('the create ran on its owner', async () => {
      const c = await hub.admin.capsul.byId.query({ id: created.capsulId });
      return TERMINAL.includes(c.state) && c;
    }, 30_000, 100);
    assert.equal(ended.state, 'running');
    assert.equal(ended.hostId, 'owner');
    // The fixture has one host again for the next test.
    await bystander.proc.stop();
    await hub.admin.host.remove.mutate({ id: 'bystander' });
  });

  test('killed and never back: the reaper ends the create after its deadline, naming the silent owner', async () => {
    const created = await hub.admin.capsul.create.mutate({ owner: 'crash@example.com', image: 'debian-12', size: 'nano' });
    await spoke.proc.kill();
    const killed = Date.now();
    const ended = await until('the reaper ended it', async () => {
      const c = await hub.admin.capsul.byId.query({ id: created.capsulId });
      return TERMINAL.includes(c.state) && c;
    }, 30_000, 200);
    const waited = Date.now() - killed;
    assert.equal(ended.state, 'failed');
    assert.match(ended.error ?? '', /past its deadline and the owner owner did not answer/);
    const [op] = await hub.admin.operation.list.query({ capsulId: created.capsulId, kind: 'create' });
    assert.ok(op!.reapedAt, 'ended by the reaper');
    assert.ok(waited < 8000 + 1000 + 2000 + 3000, `ended within deadline + reaper period + call deadline (${waited} ms)`);
    const stuck = [
      ...(await hub.admin.operation.list.query({ state: 'pending', limit: 500 })),
      ...(await hub.admin.operation.list.query({ state: 'assigned', limit: 500 })),
    ];
    assert.deepEqual(stuck, [], 'nothing pending or assigned');

    // Back later, the spoke finishes the build it was given; the owner's word replaces the reaper's.
    spoke = await startSpokeProcess({ hub, hostId: 'owner', tls, port: spoke.port, hostToken: spoke.hostToken, hubToken: spoke.hubToken, stateDir: spoke.stateDir, env: { FAKE_CREATE_MS: '5000' } });
    await until('the late report', async () => !!(await hub.admin.operation.list.query({ capsulId: created.capsulId, kind: 'create' }))[0]?.hostOperations[0]?.result && spoke.proc.logs().includes('completion acknowledged'), 20_000, 200);
    const [after] = await hub.admin.operation.list.query({ capsulId: created.capsulId, kind: 'create' });
    assert.equal(after!.reapedAt, null);
    assert.equal(after!.state, 'completed');
    assert.equal((await hub.admin.capsul.byId.query({ id: created.capsulId })).state, 'running');
    await recordFigures('spoke-crash', {
      fault: 'kill -9 of the owner spoke during a create (3 times restarted at once, once left down past the deadline), and of a spoke whose claim was out',
      faultsInjected: 5,
      operations: 5,
      lost: 0,
      doubled: 0,
      worstRecoveryMs: Math.max(...recoveries, waited),
      notes: `restarted spoke finished the interrupted build (running) ${Math.max(...recoveries)} ms after its start at worst; with the spoke gone, the reaper ended the create ${waited} ms after the kill (CREATE_DEADLINE_MS=8000); a spoke restarted with the journal of a claim another host won asks the hub and drops it, reporting nothing; the owner back after the reaper still finishes its create (running)`,
    });
  });
});
