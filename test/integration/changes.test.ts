// Changes to a capsul that exists (resize, snapshots, rebuild) through the one owner-directed async path: two
// hubs on one PostgreSQL database, fake-driver spokes as separate processes, over HTTPS. The same paths run
// on real libvirt in test/libvirt/changes-hub.test.ts.
import assert from 'node:assert/strict';
import os from 'node:os';
import path from 'node:path';
import { mkdtemp } from 'node:fs/promises';
import { after, before, describe, test } from 'node:test';
import pg from 'pg';
import { signIn, type Session } from '../support/accounts';
import { createTestDatabase } from '../support/postgres';
import { allOnline, startHubProcess, startSpokeProcess, until, type Hub, type SpokeHandle } from '../support/processes';
import { cliEnv, runCli } from '../support/cli';
import { refusal } from '../support/refusal';
import { makeTestTls, type TestTls } from '../support/tls';

const METRICS_TOKEN = 'm'.repeat(40);
const KEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGvatMdwSOLaKEdOnZWAjMM8ufgWQtrOIXrHIPn9Swud alice@laptop';

describe('changes to a capsul: resize, snapshots, rebuild (fake driver, two hubs)', () => {
  let tls: TestTls;
  let database: Awaited<ReturnType<typeof createTestDatabase>>;
  let sql: pg.Client;
  let hubA: Hub;
  let hubB: Hub;
  let quick: SpokeHandle;
  let slow: SpokeHandle;
  let alice: Session;
  let aliceOnB: Session;
  let bob: Session;

  const counts = async () =>
    (await sql.query(`SELECT (SELECT count(*) FROM "Operation")::int AS operations, (SELECT count(*) FROM "Snapshot")::int AS snapshots,
                             (SELECT string_agg(id || ':' || "memoryMb" || ':' || image, ',' ORDER BY id) FROM "Capsul") AS capsuls`)).rows[0];

  async function runningCapsul(session: Session, opts: { size?: string; name?: string } = {}) {
    const created = await session.client.capsul.create.mutate({ image: 'debian-12', size: opts.size ?? 'nano', name: opts.name });
    await until(`${created.capsulId} running`, async () => (await session.client.capsul.byId.query({ id: created.capsulId })).state === 'running');
    return created;
  }

  /** Waits for an operation to end; returns it. */
  async function ended(id: string) {
    return until(`operation ${id} ended`, async () => {
      const op = await hubA.admin.operation.byId.query({ id });
      return op.state === 'completed' || op.state === 'failed' ? op : undefined;
    });
  }

  before(async () => {
    tls = await makeTestTls();
    database = await createTestDatabase();
    sql = new pg.Client({ connectionString: database.url });
    await sql.connect();
    const env = { RECONCILE_PERIOD_MS: '3600000', SNAPSHOTS_PER_CAPSUL: '3', METRICS_TOKEN };
    hubA = await startHubProcess({ databaseUrl: database.url, tls, name: 'hub-a', env });
    hubB = await startHubProcess({ databaseUrl: database.url, tls, name: 'hub-b', env, same: { hubSecret: hubA.hubSecret, adminToken: hubA.adminToken, dataDir: await mkdtemp(path.join(os.tmpdir(), 'capsul-hub-b-')) } });
    // Two hosts: changes on `slow` take 1.5 s, long enough to try a second one meanwhile.
    quick = await startSpokeProcess({ hub: hubA, hostId: 'quick', tls, env: { FAKE_CREATE_MS: '100', FAKE_IMAGES: 'debian-12,alpine-3' } });
    slow = await startSpokeProcess({ hub: hubA, hostId: 'slow', tls, env: { FAKE_CREATE_MS: '1500', FAKE_IMAGES: 'other-image' } });
    await allOnline(hubA, ['quick', 'slow']);
    await hubA.admin.image.upsert.mutate({ id: 'other-image', name: 'Other', file: 'other.qcow2' });
    alice = await signIn(hubA, tls, 'alice@example.com');
    aliceOnB = await signIn(hubB, tls, 'alice@example.com');
    bob = await signIn(hubA, tls, 'bob@example.com');
  });

  after(async () => {
    await sql?.end();
    await quick?.proc.stop();
    await slow?.proc.stop();
    await hubB?.proc.stop();
    await hubA?.proc.stop();
    await database?.drop();
  });

  test('resize to a larger size: the capsul gets its vCPUs, memory and disk, comes back running, and its history says so', async () => {
    const { capsulId } = await runningCapsul(alice);
    const options = await alice.client.capsul.resizeOptions.query({ id: capsulId });
    assert.deepEqual(options.map((o) => o.id), ['small', 'medium', 'large'], 'only larger sizes are offered');
    assert.ok(options.every((o) => o.fits), 'the fake host has room for each');

    const started = await alice.client.capsul.resize.mutate({ id: capsulId, size: 'medium' });
    const op = await ended(started.operationId);
    assert.equal(op.state, 'completed', op.error ?? '');
    assert.equal(op.kind, 'resize');
    const capsul = await alice.client.capsul.byId.query({ id: capsulId });
    assert.deepEqual([capsul.vcpus, capsul.memoryMb, capsul.diskGb, capsul.sizeId, capsul.state], [2, 2048, 50, 'medium', 'running']);
    const history = await alice.client.capsul.operations.query({ id: capsulId });
    assert.equal(history[0]?.action, 'resize to medium');
    assert.equal(history[0]?.state, 'completed');
  });

  test('bad input changes nothing: an unknown or smaller size, a snapshot name with shell or XML metacharacters, a wrong confirmation', async () => {
    const { capsulId } = await runningCapsul(alice, { size: 'small' });
    const before = await counts();
    const unknown = await refusal(alice.client.capsul.resize.mutate({ id: capsulId, size: 'gigantic' }));
    assert.equal(unknown.data?.code, 'BAD_REQUEST');
    assert.match(unknown.message, /no size "gigantic"/);
    const smaller = await refusal(alice.client.capsul.resize.mutate({ id: capsulId, size: 'nano' }));
    assert.equal(smaller.data?.code, 'BAD_REQUEST');
    assert.match(smaller.message, /smaller than this capsul: shrinking is not supported: memory 512 MiB is less than the 1024 MiB it has; disk 10 GiB is less than the 25 GiB it has/);
    assert.ok(JSON.stringify(smaller.data).includes('"size"'), 'names the size field');
    const same = await refusal(alice.client.capsul.resize.mutate({ id: capsulId, size: 'small' }));
    assert.match(same.message, /is Small already/);
    for (const name of ['x; rm -rf /', '$(reboot)', '<snapshot/>', '"quoted"', 'a&b', '../up', '']) {
      const err = await refusal(alice.client.snapshot.create.mutate({ capsulId, name }));
      assert.equal(err.data?.code, 'BAD_REQUEST', name);
      assert.ok(JSON.stringify(err.data).includes('"name"'), `names the name field for ${JSON.stringify(name)}`);
    }
    const note = await refusal(alice.client.snapshot.create.mutate({ capsulId, name: 'ok', note: 'bell \x07' }));
    assert.equal(note.data?.code, 'BAD_REQUEST');
    const badId = await refusal(alice.client.snapshot.revert.mutate({ capsulId, snapshotId: 'snap-../../etc' }));
    assert.equal(badId.data?.code, 'BAD_REQUEST');
    const confirm = await refusal(alice.client.capsul.rebuild.mutate({ id: capsulId, image: 'debian-12', confirm: 'yes' }));
    assert.match(confirm.message, /type the capsul's name/i);
    assert.deepEqual(await counts(), before, 'no operation, snapshot or capsul change was written');
  });

  test('snapshots: take two, list them with size and time, revert to the first (the second goes), delete', async () => {
    const { capsulId } = await runningCapsul(alice);
    const first = await alice.client.snapshot.create.mutate({ capsulId, name: 'before-upgrade', note: 'kernel 6.1 → 6.12' });
    assert.equal((await ended(first.operationId)).state, 'completed');
    const second = await alice.client.snapshot.create.mutate({ capsulId, name: 'after-upgrade' });
    assert.equal((await ended(second.operationId)).state, 'completed');
    let list = await alice.client.snapshot.list.query({ capsulId });
    assert.deepEqual(list.snapshots.map((s) => [s.name, s.state]), [['after-upgrade', 'ready'], ['before-upgrade', 'ready']]);
    assert.equal(list.snapshots[1]!.note, 'kernel 6.1 → 6.12');
    assert.ok(list.snapshots.every((s) => s.bytes! > 0 && s.takenAt), 'each has its size on the host and when it was taken');
    assert.equal(list.totalBytes, list.snapshots[0]!.bytes! + list.snapshots[1]!.bytes!);
    assert.equal(list.limit, 3);
    const dup = await refusal(alice.client.snapshot.create.mutate({ capsulId, name: 'before-upgrade' }));
    assert.match(dup.message, /has a snapshot named "before-upgrade" already/);

    const revert = await alice.client.snapshot.revert.mutate({ capsulId, snapshotId: first.snapshotId });
    assert.equal((await ended(revert.operationId)).state, 'completed');
    list = await alice.client.snapshot.list.query({ capsulId });
    assert.deepEqual(list.snapshots.map((s) => s.name), ['before-upgrade'], 'the snapshot taken after it is gone with what came after');
    assert.equal((await alice.client.capsul.byId.query({ id: capsulId })).state, 'running', 'running again after the revert');

    const removed = await alice.client.snapshot.delete.mutate({ capsulId, snapshotId: first.snapshotId });
    assert.equal((await ended(removed.operationId)).state, 'completed');
    assert.deepEqual((await alice.client.snapshot.list.query({ capsulId })).snapshots, []);
    const actions = (await alice.client.capsul.operations.query({ id: capsulId })).map((o) => o.action);
    assert.deepEqual(actions.slice(0, 4), ['delete snapshot "before-upgrade"', 'revert to "before-upgrade"', 'snapshot "after-upgrade"', 'snapshot "before-upgrade"']);
  });

  test('the snapshot limit per capsul is kept, with a message saying how to go on', async () => {
    const { capsulId } = await runningCapsul(alice);
    for (const name of ['s1', 's2', 's3']) assert.equal((await ended((await alice.client.snapshot.create.mutate({ capsulId, name })).operationId)).state, 'completed');
    const before = await counts();
    const over = await refusal(alice.client.snapshot.create.mutate({ capsulId, name: 's4' }));
    assert.match(over.message, /keeps 3 snapshots, the most it may.*delete one first/);
    assert.deepEqual(await counts(), before);
  });

  test("another account's capsul, and another capsul's snapshot, are not found; nothing changes", async () => {
    const mine = await runningCapsul(alice);
    const theirs = await runningCapsul(bob);
    const snap = await bob.client.snapshot.create.mutate({ capsulId: theirs.capsulId, name: 'bobs' });
    await ended(snap.operationId);
    const before = await counts();
    for (const call of [
      () => alice.client.capsul.resize.mutate({ id: theirs.capsulId, size: 'small' }),
      () => alice.client.snapshot.create.mutate({ capsulId: theirs.capsulId, name: 'mine-now' }),
      () => alice.client.snapshot.list.query({ capsulId: theirs.capsulId }),
      () => alice.client.snapshot.revert.mutate({ capsulId: theirs.capsulId, snapshotId: snap.snapshotId }),
      () => alice.client.capsul.rebuild.mutate({ id: theirs.capsulId, image: 'debian-12', confirm: 'x' }),
      // Her own capsul, his snapshot: not hers to revert to.
      () => alice.client.snapshot.revert.mutate({ capsulId: mine.capsulId, snapshotId: snap.snapshotId }),
      () => alice.client.snapshot.delete.mutate({ capsulId: mine.capsulId, snapshotId: snap.snapshotId }),
    ]) {
      const err = await refusal(call());
      assert.equal(err.data?.code, 'NOT_FOUND', err.message);
    }
    assert.deepEqual(await counts(), before);
  });

  test('one change at a time, decided in the database: a second change, a power command or a destroy while one runs is refused naming it; across two hubs exactly one of many starts', async () => {
    const created = await alice.client.capsul.create.mutate({ image: 'other-image', size: 'nano' });
    await until('running on the slow host', async () => (await alice.client.capsul.byId.query({ id: created.capsulId })).state === 'running');
    const id = created.capsulId;
    const resize = await alice.client.capsul.resize.mutate({ id, size: 'small' });
    for (const [label, call] of [
      ['snapshot', () => aliceOnB.client.snapshot.create.mutate({ capsulId: id, name: 'during' })],
      ['resize', () => aliceOnB.client.capsul.resize.mutate({ id, size: 'medium' })],
      ['stop', () => alice.client.capsul.setState.mutate({ id, command: 'stop' })],
      ['destroy', () => aliceOnB.client.capsul.destroy.mutate({ id })],
    ] as const) {
      const err = await refusal(call());
      assert.equal(err.data?.code, 'CONFLICT', `${label}: ${err.message}`);
      assert.match(err.message, new RegExp(`a resize is running on this capsul \\(operation ${resize.operationId}`), label);
    }
    assert.equal((await ended(resize.operationId)).state, 'completed');

    // Many at once through both hubs: the unique index lets exactly one through.
    const attempts = await Promise.allSettled(
      Array.from({ length: 8 }, (_, i) => (i % 2 ? aliceOnB : alice).client.snapshot.create.mutate({ capsulId: id, name: `race-${i}` })),
    );
    const won = attempts.filter((a) => a.status === 'fulfilled');
    assert.equal(won.length, 1, `exactly one started: ${attempts.map((a) => (a.status === 'rejected' ? String(a.reason) : 'ok')).join(' | ')}`);
    for (const a of attempts) if (a.status === 'rejected') assert.match(String(a.reason), /is running on this capsul|started just now/);
    await ended((won[0] as PromiseFulfilledResult<{ operationId: string }>).value.operationId);
    const { rows } = await sql.query(`SELECT count(*)::int AS n FROM "Snapshot" WHERE "capsulId" = $1 AND "deletedAt" IS NULL`, [id]);
    assert.equal(rows[0].n, 1, 'the refused ones left no snapshot row');
  });

  test('rebuild: a new disk from the chosen image with the chosen keys; same id and address; its snapshots are gone', async () => {
    const { capsulId } = await runningCapsul(alice, { name: 'rebuild-me' });
    const before = await alice.client.capsul.byId.query({ id: capsulId });
    await ended((await alice.client.snapshot.create.mutate({ capsulId, name: 'old' })).operationId);
    await hubA.admin.image.upsert.mutate({ id: 'alpine-3', name: 'Alpine 3', file: 'alpine-3.qcow2' });
    const rebuilt = await alice.client.capsul.rebuild.mutate({ id: capsulId, image: 'alpine-3', sshAuthorizedKeys: [KEY], confirm: 'rebuild-me' });
    assert.equal((await ended(rebuilt.operationId)).state, 'completed');
    const after = await alice.client.capsul.byId.query({ id: capsulId });
    assert.equal(after.image, 'alpine-3');
    assert.equal(after.ipv4, before.ipv4, 'the same address');
    assert.equal(after.state, 'running');
    assert.deepEqual((await alice.client.snapshot.list.query({ capsulId })).snapshots, []);
    const op = await hubA.admin.operation.byId.query({ id: rebuilt.operationId });
    assert.deepEqual((op.payload as { change: { sshAuthorizedKeys: string[] } }).change.sshAuthorizedKeys, [KEY], 'the host was given exactly the chosen keys');
  });

  test('many capsuls changed at once across two hubs all complete, each recorded with its host', async () => {
    const capsuls = await Promise.all(Array.from({ length: 8 }, () => runningCapsul(alice)));
    const started = await Promise.all(capsuls.map((c, i) => (i % 2 ? aliceOnB : alice).client.snapshot.create.mutate({ capsulId: c.capsulId, name: 'bulk' })));
    const ops = await Promise.all(started.map((s) => ended(s.operationId)));
    assert.deepEqual(ops.map((o) => o.state), ops.map(() => 'completed'));
    assert.ok(ops.every((o) => o.hostOperations.length === 1 && o.hostOperations[0]!.assignmentStatus === 'assigned'), 'one host row each: the owner');
    // Counted per kind: the hub each was started through counts it assigned; the one that took the report, completed.
    const counted = async (hub: Hub, outcome: string) => {
      const text = await (await alice.fetch(`${hub.url}/metrics`, { headers: { authorization: `Bearer ${METRICS_TOKEN}` } })).text();
      return Number(new RegExp(`capsul_operations_total\\{kind="snapshotCreate",outcome="${outcome}"\\} (\\d+)`).exec(text)?.[1] ?? 0);
    };
    assert.ok((await counted(hubA, 'assigned')) + (await counted(hubB, 'assigned')) >= 8, 'snapshotCreate assigned, per kind');
    assert.ok((await counted(hubA, 'completed')) + (await counted(hubB, 'completed')) >= 8, 'snapshotCreate completed, per kind');
  });

  test('the CLI: resize, snapshot create|list|revert|delete and rebuild, with --wait; a refusal exits 1 naming why, bad usage exits 2', async () => {
    const { capsulId } = await runningCapsul(alice, { name: 'by-cli' });
    const env = cliEnv(hubA, tls);
    const cli = async (...args: string[]) => {
      const r = await runCli(args, env);
      assert.equal(r.exitCode, 0, `${args.join(' ')}: ${r.stderr}`);
      return r.stdout;
    };
    assert.match(await cli('resize', capsulId, '--size', 'small', '--wait'), /^resize to small: completed in \d+ ms/);
    assert.equal((await hubA.admin.capsul.byId.query({ id: capsulId })).memoryMb, 1024);
    const taken = JSON.parse(await cli('snapshot', 'create', capsulId, '--name', 'cli-one', '--note', 'from the CLI', '--wait', '--json'));
    assert.equal(taken.state, 'completed');
    const listed = JSON.parse(await cli('snapshot', 'list', capsulId, '--json'));
    assert.deepEqual(listed.snapshots.map((x: { name: string }) => x.name), ['cli-one']);
    const snapshotId = listed.snapshots[0].id;
    assert.match(await cli('snapshot', 'list', capsulId), /cli-one/);
    assert.match(await cli('snapshot', 'revert', capsulId, snapshotId, '--wait'), /revert to "cli-one": completed/);
    assert.match(await cli('snapshot', 'delete', capsulId, snapshotId, '--wait'), /delete snapshot "cli-one": completed/);
    assert.match(await cli('rebuild', capsulId, '--image', 'debian-12', '--confirm', 'by-cli', '--key', KEY, '--wait'), /rebuild: completed/);

    const smaller = await runCli(['resize', capsulId, '--size', 'nano'], env);
    assert.equal(smaller.exitCode, 1);
    assert.match(smaller.stderr, /size: .*smaller than this capsul/);
    const wrong = await runCli(['rebuild', capsulId, '--image', 'debian-12', '--confirm', 'not-its-name'], env);
    assert.equal(wrong.exitCode, 1);
    assert.match(wrong.stderr, /confirm: Type the capsul's name, by-cli/);
    const usage = await runCli(['snapshot', 'create', capsulId], env);
    assert.equal(usage.exitCode, 2);
    assert.match(usage.stderr, /missing --name/);
  });
});
