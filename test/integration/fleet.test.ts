// One hub and three spokes as separate processes over HTTPS, on real PostgreSQL, fake driver.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { TRPCClientError } from '@trpc/client';
import { createTestDatabase } from '../support/postgres';
import { allOnline, startHubProcess, startSpokeProcess, until, type Hub, type SpokeHandle } from '../support/processes';
import { makeTestTls, type TestTls } from '../support/tls';

const KEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGvatMdwSOLaKEdOnZWAjMM8ufgWQtrOIXrHIPn9Swud test@capsul';
const HOSTS = ['spoke-a', 'spoke-b', 'spoke-c'];

describe('a hub and three spokes', () => {
  let tls: TestTls;
  let database: Awaited<ReturnType<typeof createTestDatabase>>;
  let hub: Hub;
  const spokes = new Map<string, SpokeHandle>();

  before(async () => {
    tls = await makeTestTls();
    database = await createTestDatabase();
    // A generous per-host deadline: this test is about who owns what, and 50 creates at once on two cores,
    // shared with three spokes and PostgreSQL, are slow (their latency is a benchmark's business).
    hub = await startHubProcess({ databaseUrl: database.url, tls, env: { SPOKE_CALL_TIMEOUT_MS: '15000' } });
    // Room for every create on every host, so a losing host answers assigned_to_other_host, never not_applicable.
    const started = await Promise.all(
      HOSTS.map((hostId) => startSpokeProcess({ hub, hostId, tls, env: { FAKE_MEMORY_MB: '1000000', FAKE_DISK_GB: '100000' } })),
    );
    for (const s of started) spokes.set(s.hostId, s);
  });

  after(async () => {
    await Promise.all([...spokes.values()].map((s) => s.proc.stop()));
    await hub?.proc.stop();
    await database?.drop();
  });

  test('heartbeats bring all three online, each with its driver', async () => {
    const hosts = await allOnline(hub, HOSTS);
    for (const id of HOSTS) {
      const host = hosts.find((h) => h.id === id)!;
      assert.equal(host.driver, 'fake');
      assert.ok(host.lastHealthCheck);
    }
  });

  test('50 concurrent creates: each has exactly one owner, the other hosts are recorded assigned_to_other_host', async () => {
    await allOnline(hub, HOSTS);
    const created = await Promise.all(
      Array.from({ length: 50 }, (_, i) =>
        hub.admin.capsul.create.mutate({ owner: `user${i % 5}@example.com`, image: 'debian-12', size: 'nano', sshAuthorizedKeys: [KEY] }),
      ),
    );
    assert.equal(new Set(created.map((c) => c.capsulId)).size, 50);
    // The hosts' answers are recorded just after each create returns.
    const ops = await until('every answer recorded', async () => {
      const list = await hub.admin.operation.list.query({ kind: 'create', limit: 500 });
      return list.every((o) => o.hostOperations.every((h) => h.assignmentStatus !== 'pending')) && list;
    });
    for (const c of created) {
      const op = ops.find((o) => o.id === c.operationId);
      assert.ok(op, `operation ${c.operationId} recorded`);
      assert.equal(op.hostOperations.length, 3, 'offered to every online host');
      const owners = op.hostOperations.filter((h) => h.assignmentStatus === 'assigned');
      assert.equal(owners.length, 1, `exactly one owner for ${c.capsulId}`);
      assert.equal(owners[0]!.hostId, c.hostId);
      assert.equal(op.hostId, c.hostId);
      for (const other of op.hostOperations.filter((h) => h.hostId !== c.hostId)) {
        assert.equal(other.assignmentStatus, 'assigned_to_other_host', `${other.hostId} on ${c.capsulId}`);
      }
    }
    // Every completion callback arrives and moves its capsul to running, with the address the spoke learned.
    const capsuls = await until('all 50 running', async () => {
      const list = await hub.admin.capsul.list.query({});
      const mine = list.filter((c) => created.some((x) => x.capsulId === c.id));
      return mine.length === 50 && mine.every((c) => c.state === 'running') && mine;
    });
    for (const c of capsuls) {
      assert.match(c.ipv4 ?? '', /^10\.\d+\.\d+\.\d+$/);
      assert.equal(c.hostId, created.find((x) => x.capsulId === c.id)!.hostId);
    }
    // Each VM exists on its owner and nowhere else.
    const fleet = await hub.admin.fleet.list.mutate();
    for (const c of created) {
      const where = fleet.capsuls.filter((f) => f.id === c.capsulId).map((f) => f.hostId);
      assert.deepEqual(where, [c.hostId]);
    }
    const done = await hub.admin.operation.list.query({ kind: 'create', state: 'completed', limit: 500 });
    assert.ok(created.every((c) => done.some((o) => o.id === c.operationId)), 'every create operation completed');
  });

  test('a completion callback moves the capsul from creating to running', async () => {
    // A slow build on every host: the capsul is seen `creating` until the owner reports.
    const created = await hub.admin.capsul.create.mutate({ owner: 'slow@example.com', image: 'debian-12', size: 'nano' });
    const early = await hub.admin.capsul.byId.query({ id: created.capsulId });
    assert.ok(['creating', 'running'].includes(early.state));
    const running = await until('running', async () => {
      const c = await hub.admin.capsul.byId.query({ id: created.capsulId });
      return c.state === 'running' && c;
    });
    assert.ok(running.ipv4);
    const [op] = await hub.admin.operation.list.query({ capsulId: created.capsulId, kind: 'create' });
    const owner = op!.hostOperations.find((h) => h.hostId === created.hostId)!;
    assert.deepEqual(owner.result, { ok: true, state: 'running', ipv4: running.ipv4 });
    assert.ok(owner.completedAt);
  });

  test('a create no host can take fails at once, with a reason from every host', async () => {
    const before = await hub.admin.capsul.list.query({});
    const started = Date.now();
    const err = await hub.admin.capsul.create
      .mutate({ owner: 'big@example.com', image: 'debian-12', vcpus: 2, memoryMb: 4 * 1024 * 1024, diskGb: 10 })
      .then(() => assert.fail('the create should fail'), (e: unknown) => e);
    assert.ok(err instanceof TRPCClientError);
    assert.equal(err.data?.code, 'PRECONDITION_FAILED');
    const hosts = err.data?.hosts as { hostId: string; status: string; reason: string }[];
    assert.deepEqual(hosts.map((h) => h.hostId).sort(), HOSTS);
    for (const h of hosts) {
      assert.equal(h.status, 'not_applicable');
      assert.match(h.reason, /not enough room: needs 4194304 MiB memory/);
    }
    assert.ok(Date.now() - started < 5000, 'answered at once, not after a deadline');
    const op = await until('the answers recorded', async () => {
      const [o] = await hub.admin.operation.list.query({ kind: 'create', state: 'failed', limit: 1 });
      return o?.hostOperations.every((h) => h.assignmentStatus !== 'pending') && o;
    });
    assert.match(op!.error ?? '', /no host could take it/);
    assert.ok(op!.hostOperations.every((h) => h.assignmentStatus === 'not_applicable' && h.reason));
    assert.equal((await hub.admin.capsul.list.query({})).length, before.length, 'no capsul left behind');
  });

  test('destroy reaches only the owner', async () => {
    const created = await hub.admin.capsul.create.mutate({ owner: 'gone@example.com', image: 'debian-12', size: 'nano' });
    await until('running', async () => (await hub.admin.capsul.byId.query({ id: created.capsulId })).state === 'running');
    const { operationId } = await hub.admin.capsul.destroy.mutate({ id: created.capsulId });
    const [op] = await hub.admin.operation.list.query({ kind: 'destroy', capsulId: created.capsulId });
    assert.equal(op!.id, operationId);
    assert.deepEqual(op!.hostOperations.map((h) => [h.hostId, h.assignmentStatus]), [[created.hostId, 'assigned']]);
    for (const [hostId, spoke] of spokes) {
      const calls = spoke.proc.logs().split('\n').filter((l) => l.includes('"procedure":"destroy"') && l.includes(created.capsulId));
      assert.equal(calls.length, hostId === created.hostId ? 1 : 0, `destroy calls on ${hostId}`);
    }
    const fleet = await hub.admin.fleet.list.mutate();
    assert.ok(!fleet.capsuls.some((c) => c.id === created.capsulId), 'gone from the owner');
    const gone = await hub.admin.capsul.byId.query({ id: created.capsulId });
    assert.equal(gone.state, 'deleted');
    assert.ok(gone.deletedAt);
  });

  test('capacityAvailable and list succeed with one spoke stopped, and name it', async () => {
    await allOnline(hub, HOSTS);
    const stopped = spokes.get('spoke-b')!;
    await stopped.proc.stop();

    const capacity = await hub.admin.fleet.capacity.mutate({ memoryMb: 512, diskGb: 10 });
    assert.deepEqual(capacity.hosts.map((h) => h.hostId).sort(), ['spoke-a', 'spoke-c']);
    assert.equal(capacity.available, true);
    assert.deepEqual(capacity.failed.map((f) => [f.hostId, f.status]), [['spoke-b', 'no_response_from_host']]);
    const list = await hub.admin.fleet.list.mutate();
    assert.deepEqual(list.answered.sort(), ['spoke-a', 'spoke-c']);
    assert.deepEqual(list.failed.map((f) => f.hostId), ['spoke-b']);
    assert.match(list.failed[0]!.reason, /ECONNREFUSED/);
    // Recorded after the answer went back: wait for this list's own record.
    const recorded = await until('the list recorded', () => hub.admin.operation.byId.query({ id: list.operationId }).catch(() => undefined));
    assert.equal(recorded!.state, 'completed');
    assert.equal(recorded!.hostOperations.find((h) => h.hostId === 'spoke-b')!.assignmentStatus, 'no_response_from_host');

    // Once its heartbeats have been missing for the online window, it is no longer asked, but still named.
    await until('spoke-b offline', async () => !(await hub.admin.host.list.query()).find((h) => h.id === 'spoke-b')!.online);
    const later = await hub.admin.fleet.list.mutate();
    assert.deepEqual(later.offline.map((o) => o.hostId), ['spoke-b']);
    assert.deepEqual(later.failed, []);

    // Started again, it rejoins by heartbeat.
    spokes.set('spoke-b', await startSpokeProcess({ hub, hostId: 'spoke-b', tls, port: stopped.port, hostToken: stopped.hostToken, hubToken: stopped.hubToken, stateDir: stopped.stateDir }));
    await allOnline(hub, HOSTS);
  });
});
