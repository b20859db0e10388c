// kill -9 the owner spoke in the middle of a change (resize, snapshot, revert). Started again, it finds the
// change's journal, has its driver finish it, and reports how it ended; the capsul is usable (running, at its
// new size or with its snapshot). Never started again, the reaper ends the change for the owner's silence,
// and a spoke back after that still reports it: the owner's word wins. Fake driver here; the libvirt driver's
// recovery runs on real domains in test/libvirt/changes.test.ts.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createTestDatabase } from '../support/postgres';
import { allOnline, startHubProcess, startSpokeProcess, until, type Hub, type SpokeHandle } from '../support/processes';
import { makeTestTls, type TestTls } from '../support/tls';

const SPOKE_ENV = { FAKE_CREATE_MS: '3000' };

describe('fault: the owner spoke dies mid-change', () => {
  let tls: TestTls;
  let database: Awaited<ReturnType<typeof createTestDatabase>>;
  let hub: Hub;
  let spoke: SpokeHandle;

  const restart = async () => {
    spoke = await startSpokeProcess({ hub, hostId: 'owner', tls, port: spoke.port, hostToken: spoke.hostToken, hubToken: spoke.hubToken, stateDir: spoke.stateDir, env: SPOKE_ENV });
  };
  const reported = (operationId: string) =>
    until(`the owner reported ${operationId}`, async () => {
      const op = await hub.admin.operation.byId.query({ id: operationId });
      return op.completedAt && !op.reapedAt ? op : undefined;
    }, 60_000, 100);

  before(async () => {
    tls = await makeTestTls();
    database = await createTestDatabase();
    hub = await startHubProcess({ databaseUrl: database.url, tls, env: { CHANGE_DEADLINE_MS: '6000', REAPER_PERIOD_MS: '1000', SPOKE_CALL_TIMEOUT_MS: '2000' } });
    spoke = await startSpokeProcess({ hub, hostId: 'owner', tls, env: SPOKE_ENV });
    await allOnline(hub, ['owner']);
  });
  after(async () => {
    await spoke?.proc.stop();
    await hub?.proc.stop();
    await database?.drop();
  });

  async function runningCapsul() {
    const { capsulId } = await hub.admin.capsul.create.mutate({ owner: 'crash@example.com', image: 'debian-12', size: 'nano', name: `c-${Date.now().toString(36)}` });
    await until('running', async () => (await hub.admin.capsul.byId.query({ id: capsulId })).state === 'running', 30_000);
    return capsulId;
  }

  test('killed mid-resize, mid-snapshot and mid-revert, then started again: each change is finished and reported; the capsul runs', async () => {
    const id = await runningCapsul();
    const resize = await hub.admin.capsul.resize.mutate({ id, size: 'small' });
    await spoke.proc.kill();
    await restart();
    const resized = await reported(resize.operationId);
    assert.equal(resized.state, 'completed', resized.error ?? '');
    let capsul = await hub.admin.capsul.byId.query({ id });
    assert.deepEqual([capsul.memoryMb, capsul.state], [1024, 'running']);
    assert.match(spoke.proc.logs(), /changes interrupted by the last stop are being finished or undone/);

    const snap = await hub.admin.snapshot.create.mutate({ capsulId: id, name: 'mid-kill' });
    await spoke.proc.kill();
    await restart();
    assert.equal((await reported(snap.operationId)).state, 'completed');
    const [kept] = (await hub.admin.snapshot.list.query({ capsulId: id })).snapshots;
    assert.deepEqual([kept?.name, kept?.state], ['mid-kill', 'ready']);

    const revert = await hub.admin.snapshot.revert.mutate({ capsulId: id, snapshotId: kept!.id });
    await spoke.proc.kill();
    await restart();
    assert.equal((await reported(revert.operationId)).state, 'completed');
    capsul = await hub.admin.capsul.byId.query({ id });
    assert.equal(capsul.state, 'running');
    // Usable: a change after all that is accepted and ends.
    const after = await hub.admin.snapshot.create.mutate({ capsulId: id, name: 'after' });
    assert.equal((await reported(after.operationId)).state, 'completed');
  });

  test('an owner that stays silent: the reaper fails the change past its deadline and frees the capsul; the owner back later still reports it', async () => {
    const id = await runningCapsul();
    const resize = await hub.admin.capsul.resize.mutate({ id, size: 'small' });
    await spoke.proc.kill();
    const reaped = await until('the reaper ended the change', async () => {
      const op = await hub.admin.operation.byId.query({ id: resize.operationId });
      return op.reapedAt ? op : undefined;
    }, 60_000, 200);
    assert.equal(reaped.state, 'failed');
    assert.match(reaped.error ?? '', /past its deadline the owner owner had not reported how it ended, and does not answer/);
    await restart();
    const op = await reported(resize.operationId);
    assert.equal(op.state, 'completed', 'the owner\'s report replaced the reaper\'s verdict');
    assert.equal((await hub.admin.capsul.byId.query({ id })).memoryMb, 1024);
  });
});
