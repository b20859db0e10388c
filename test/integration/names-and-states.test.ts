// Capsul names, and states that tell the truth: a deleted capsul says so, a VM gone behind the hub's back is
// `missing` (only when its host answered), a create's steps arrive as they happen, and the operations name
// the power action. A hub and two fake-driver spokes as separate processes, on PostgreSQL.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { createTRPCClient, httpLink, TRPCClientError } from '@trpc/client';
import pg from 'pg';
import superjson from 'superjson';
import { httpsFetch } from '~/lib/https-fetch';
import { createHubClient } from '~/spoke/hub-client';
import type { SpokeRouter } from '~/spoke/router';
import { signIn, type Session } from '../support/accounts';
import { CapsulWatch } from '../support/capsul-watch';
import { createTestDatabase } from '../support/postgres';
import { allOnline, startHubProcess, startSpokeProcess, until, type Hub, type SpokeHandle } from '../support/processes';
import { makeTestTls, type TestTls } from '../support/tls';

// spoke-a has the usual image, spoke-b only its own: where a capsul lands is chosen by its image.
const ON_B = 'other-image';

type Refusal = { message: string; data?: { code?: string; issues?: { path: string }[] } };

async function refusal(call: Promise<unknown>): Promise<Refusal> {
  const err = await call.then(
    () => assert.fail('accepted'),
    (e: unknown) => e,
  );
  assert.ok(err instanceof TRPCClientError, String(err));
  return err as Refusal;
}

/** Refused with `code`, the error naming the `name` field in `data.issues`. */
async function refusedNamingName(call: Promise<unknown>, code: string, label: string) {
  const err = await refusal(call);
  const data = err.data;
  assert.equal(data?.code, code, `${label}: ${err.message}`);
  assert.ok(data?.issues?.some((i) => i.path === 'name'), `${label}: names the field, got ${JSON.stringify(data?.issues)}`);
  assert.doesNotMatch(err.message, /^name: /, `${label}: the message is a sentence; the field is named in data`);
  return err;
}

describe('capsul names and honest states', () => {
  let tls: TestTls;
  let database: Awaited<ReturnType<typeof createTestDatabase>>;
  let sql: pg.Client;
  let hub: Hub;
  let a: SpokeHandle;
  let b: SpokeHandle;
  let alice: Session;
  let bob: Session;

  const onSpoke = (s: SpokeHandle) =>
    createTRPCClient<SpokeRouter>({
      links: [httpLink({ url: `${s.url}/trpc`, transformer: superjson, fetch: httpsFetch({ ca: readFileSync(tls.caFile) }), headers: { authorization: `Bearer ${s.hubToken}` } })],
    });
  const asHost = (s: SpokeHandle) =>
    createHubClient({ hubUrl: hub.url, hostId: s.hostId, hostToken: s.hostToken, fetch: httpsFetch({ ca: readFileSync(tls.caFile) }), timeoutMs: 10_000 });

  async function running(session: Session, input: { name?: string; image?: string }) {
    const created = await session.client.capsul.create.mutate({ image: 'debian-12', size: 'nano', ...input });
    await until(`${created.capsulId} running`, async () => (await session.client.capsul.byId.query({ id: created.capsulId })).state === 'running');
    return created;
  }
  const stateOf = async (id: string) => (await hub.admin.capsul.byId.query({ id })).state;
  const counts = async () => (await sql.query('SELECT (SELECT count(*) FROM "Capsul")::int AS capsuls, (SELECT count(*) FROM "Operation")::int AS operations')).rows[0];

  before(async () => {
    tls = await makeTestTls();
    database = await createTestDatabase();
    sql = new pg.Client({ connectionString: database.url });
    await sql.connect();
    hub = await startHubProcess({ databaseUrl: database.url, tls, env: { RECONCILE_PERIOD_MS: '3600000' } });
    // Five steps a build reports, 300 ms apart, so each reaches the page on its own.
    a = await startSpokeProcess({ hub, hostId: 'spoke-a', tls, env: { FAKE_CREATE_MS: '1500', FAKE_IMAGES: 'debian-12' } });
    b = await startSpokeProcess({ hub, hostId: 'spoke-b', tls, env: { FAKE_CREATE_MS: '100', FAKE_IMAGES: ON_B } });
    await allOnline(hub, ['spoke-a', 'spoke-b']);
    await hub.admin.image.upsert.mutate({ id: ON_B, name: 'Other', file: 'other.qcow2' });
    alice = await signIn(hub, tls, 'alice@example.com');
    bob = await signIn(hub, tls, 'bob@example.com');
  });

  after(async () => {
    await sql?.end();
    await a?.proc.stop();
    await b?.proc.stop();
    await hub?.proc.stop();
    await database?.drop();
  });

  test('a capsul is created with a name, or gets a readable one; the name is shown, never sent to a spoke', async () => {
    const named = await running(alice, { name: 'web-1' });
    const row = (await alice.client.capsul.list.query({})).find((c) => c.id === named.capsulId);
    assert.equal(row?.name, 'web-1');
    assert.equal((await alice.client.capsul.byId.query({ id: named.capsulId })).name, 'web-1');
    assert.equal((await hub.admin.capsul.list.query({ all: true })).find((c) => c.id === named.capsulId)?.name, 'web-1');
    const create = await hub.admin.operation.byId.query({ id: named.operationId });
    assert.equal(create.capsul?.name, 'web-1', 'the operations log names it');
    assert.ok(!JSON.stringify(create.payload).includes('web-1'), 'the payload the spokes get has no name');

    const unnamed = await alice.client.capsul.create.mutate({ image: 'debian-12', size: 'nano' });
    const given = (await alice.client.capsul.byId.query({ id: unnamed.capsulId })).name;
    assert.match(given, /^[a-z]+-[a-z]+(-\d+)?$/);
    const suggestion = await alice.client.capsul.suggestName.query();
    assert.match(suggestion, /^[a-z]+-[a-z]+(-\d+)?$/);
  });

  test('a suggested name another create took between the check and the write is suggested again, not refused', async () => {
    // The race made certain: the first time carol's capsul row is written, a trigger first writes one of
    // hers with the same name (as a concurrent create would have), so the unique index refuses the write.
    const carol = await signIn(hub, tls, 'carol@example.com');
    const { rows } = await sql.query(`SELECT id FROM "Account" WHERE email = 'carol@example.com'`);
    await sql.query(`CREATE SEQUENCE clash_once`);
    await sql.query(`CREATE FUNCTION clash_once() RETURNS trigger LANGUAGE plpgsql AS $$
      DECLARE twin "Capsul";
      BEGIN
        IF NEW."ownerId" = '${rows[0].id}' AND nextval('clash_once') = 1 THEN
          twin := NEW; twin.id := NEW.id || 'x';
          INSERT INTO "Capsul" SELECT twin.*;
        END IF;
        RETURN NEW;
      END $$`);
    await sql.query(`CREATE TRIGGER clash_once BEFORE INSERT ON "Capsul" FOR EACH ROW EXECUTE FUNCTION clash_once()`);
    try {
      const created = await carol.client.capsul.create.mutate({ image: 'debian-12', size: 'nano' });
      const clashes = (await sql.query(`SELECT last_value::int AS n FROM clash_once`)).rows[0].n;
      assert.ok(clashes >= 3, `the first write was refused and written again (sequence at ${clashes})`);
      const mine = await carol.client.capsul.list.query({});
      assert.deepEqual(mine.map((c) => c.id), [created.capsulId], 'one capsul, the twin went with the refused write');
      assert.match(mine[0]!.name, /^[a-z]+-[a-z]+(-\d+)?$/);
    } finally {
      await sql.query(`DROP TRIGGER clash_once ON "Capsul"; DROP FUNCTION clash_once(); DROP SEQUENCE clash_once`);
    }
  });

  test('a name the person chose is refused, not changed, when another create took it between the check and the write', async () => {
    const dave = await signIn(hub, tls, 'dave@example.com');
    const { rows } = await sql.query(`SELECT id FROM "Account" WHERE email = 'dave@example.com'`);
    await sql.query(`CREATE FUNCTION clash_always() RETURNS trigger LANGUAGE plpgsql AS $$
      DECLARE twin "Capsul";
      BEGIN
        IF NEW."ownerId" = '${rows[0].id}' AND NEW.id NOT LIKE '%-twin' THEN
          twin := NEW; twin.id := NEW.id || '-twin';
          INSERT INTO "Capsul" SELECT twin.*;
        END IF;
        RETURN NEW;
      END $$`);
    await sql.query(`CREATE TRIGGER clash_always BEFORE INSERT ON "Capsul" FOR EACH ROW EXECUTE FUNCTION clash_always()`);
    try {
      const before = await counts();
      const err = await refusedNamingName(dave.client.capsul.create.mutate({ name: 'chosen', image: 'debian-12', size: 'nano' }), 'CONFLICT', 'chosen');
      assert.match(err.message, /already have a capsul named "chosen"/);
      assert.deepEqual(await counts(), before, 'nothing written');
    } finally {
      await sql.query(`DROP TRIGGER clash_always ON "Capsul"; DROP FUNCTION clash_always()`);
    }
  });

  test('a name is unique per account among capsuls not deleted', async () => {
    const before = await counts();
    const err = await refusedNamingName(alice.client.capsul.create.mutate({ name: 'web-1', image: 'debian-12', size: 'nano' }), 'CONFLICT', 'duplicate');
    assert.match(err.message, /already have a capsul named "web-1"/);
    assert.deepEqual(await counts(), before, 'nothing written');

    // Another account may use it; the owner may again once the first is deleted.
    await running(bob, { name: 'web-1' });
    const first = (await alice.client.capsul.list.query({})).find((c) => c.name === 'web-1')!;
    await alice.client.capsul.destroy.mutate({ id: first.id });
    const again = await alice.client.capsul.create.mutate({ name: 'web-1', image: 'debian-12', size: 'nano' });
    assert.equal((await alice.client.capsul.byId.query({ id: again.capsulId })).name, 'web-1');
    assert.equal((await alice.client.capsul.byId.query({ id: first.id })).name, 'web-1', 'the deleted one keeps its name');

    // Creates racing for one name: one gets it (the database's index decides when both checks passed).
    const racing = await Promise.allSettled([1, 2, 3].map(() => alice.client.capsul.create.mutate({ name: 'raced', image: 'debian-12', size: 'nano' })));
    assert.equal(racing.filter((r) => r.status === 'fulfilled').length, 1);
    for (const r of racing) if (r.status === 'rejected') await refusedNamingName(Promise.reject(r.reason), 'CONFLICT', 'raced');
    assert.equal((await alice.client.capsul.list.query({})).filter((c) => c.name === 'raced').length, 1);
  });

  test('the owner renames a capsul; another account cannot, and a name in use is refused', async () => {
    const { capsulId: id } = await running(alice, { name: 'before' });
    assert.deepEqual(await alice.client.capsul.rename.mutate({ id, name: 'after' }), { id, name: 'after' });
    assert.equal((await alice.client.capsul.list.query({})).find((c) => c.id === id)?.name, 'after');

    await refusedNamingName(alice.client.capsul.rename.mutate({ id, name: 'web-1' }), 'CONFLICT', 'rename to a name in use');
    const err = await refusal(bob.client.capsul.rename.mutate({ id, name: 'stolen' }));
    assert.equal(err.data?.code, 'NOT_FOUND');
    assert.equal((await alice.client.capsul.byId.query({ id })).name, 'after');
    // The operator (CLI) may rename anyone's.
    await hub.admin.capsul.rename.mutate({ id, name: 'by-operator' });
    assert.equal((await alice.client.capsul.byId.query({ id })).name, 'by-operator');
  });

  test('bad names are refused naming the field, and nothing is written', async () => {
    const { capsulId: id } = await running(alice, { name: 'keep-me' });
    const bad = ['', 'web;reboot', '$(id)', 'a`b`', '<domain/>', 'x&amp;', "it's", 'a b', 'Web', '-web', 'web-', 'ä', 'x'.repeat(41), 'web\n1'];
    const before = await counts();
    const updated = (await alice.client.capsul.byId.query({ id })).updatedAt.getTime();
    for (const name of bad) {
      await refusedNamingName(alice.client.capsul.create.mutate({ name, image: 'debian-12', size: 'nano' }), 'BAD_REQUEST', `create ${JSON.stringify(name)}`);
      await refusedNamingName(alice.client.capsul.rename.mutate({ id, name }), 'BAD_REQUEST', `rename ${JSON.stringify(name)}`);
    }
    assert.deepEqual(await counts(), before, 'nothing written');
    const after = await alice.client.capsul.byId.query({ id });
    assert.equal(after.name, 'keep-me');
    assert.equal(after.updatedAt.getTime(), updated);
  });

  test("a deleted capsul's page says deleted, when and by whom, with no address", async () => {
    const own = await running(alice, { name: 'to-delete' });
    await alice.client.capsul.destroy.mutate({ id: own.capsulId });
    const seen = await alice.client.capsul.byId.query({ id: own.capsulId });
    assert.equal(seen.state, 'deleted');
    assert.ok(seen.deletedAt && Date.now() - seen.deletedAt.getTime() < 60_000, 'when');
    assert.equal(seen.deletedBy, 'you');
    assert.equal(seen.ipv4, null);
    assert.equal(seen.ipv6, null);
    assert.equal((await hub.admin.capsul.byId.query({ id: own.capsulId })).deletedBy, 'alice@example.com', 'an admin sees who');

    const byOperator = await running(alice, { name: 'operator-deletes' });
    await hub.admin.capsul.destroy.mutate({ id: byOperator.capsulId });
    assert.equal((await alice.client.capsul.byId.query({ id: byOperator.capsulId })).deletedBy, 'an administrator');
    assert.equal((await hub.admin.capsul.byId.query({ id: byOperator.capsulId })).deletedBy, 'an operator (admin token)');
    const err = await refusal(alice.client.capsul.setState.mutate({ id: own.capsulId, command: 'start' }));
    assert.equal(err.data?.code, 'NOT_FOUND', 'no live action on a deleted capsul');
  });

  test('a VM destroyed behind the hub\'s back is missing after a refresh, and back when its host has it again', async () => {
    const { capsulId: id } = await running(alice, { name: 'vanishes' });
    await onSpoke(a).destroy.mutate({ id });
    const refreshed = await alice.client.capsul.refresh.mutate({ id });
    assert.equal(refreshed.onHost, null);
    assert.equal(refreshed.capsul.state, 'missing');
    assert.equal(await stateOf(id), 'missing');
    // The owner may delete it (the host has nothing left to remove).
    await alice.client.capsul.destroy.mutate({ id });
    assert.equal(await stateOf(id), 'deleted');

    // A capsul the hub thinks missing while its host has it takes the host's state again.
    const { capsulId: there } = await running(alice, { name: 'comes-back' });
    await sql.query(`UPDATE "Capsul" SET state = 'missing' WHERE id = $1`, [there]);
    assert.equal((await alice.client.capsul.refresh.mutate({ id: there })).capsul.state, 'running');
    assert.equal(await stateOf(there), 'running');
  });

  test('a reconciliation marks a vanished VM missing, and a missing one its host lists again back', async () => {
    const { capsulId: gone } = await running(alice, { name: 'drifts' });
    const { capsulId: back } = await running(alice, { name: 'drifts-back' });
    await onSpoke(a).destroy.mutate({ id: gone });
    await sql.query(`UPDATE "Capsul" SET state = 'missing', "updatedAt" = "updatedAt" - interval '1 second' WHERE id = $1`, [back]);
    const watch = await CapsulWatch.open(hub, alice);
    await watch.connected;
    const report = await hub.admin.drift.check.mutate();
    assert.ok((report.missing as { id: string }[]).some((m) => m.id === gone));
    assert.equal(await stateOf(gone), 'missing');
    assert.equal(await stateOf(back), 'running');
    await until('both changes pushed live', async () => watch.statesOf(gone).includes('missing') && watch.statesOf(back).includes('running'), 30_000, 50);
    await watch.close();
  });

  test("an offline host's capsuls do not change, whatever happened to their VMs", async () => {
    const { capsulId: id } = await running(alice, { name: 'on-b', image: ON_B });
    await onSpoke(b).destroy.mutate({ id });
    await b.proc.stop();
    try {
      const err = await refusal(alice.client.capsul.refresh.mutate({ id }));
      assert.equal(err.data?.code, 'SERVICE_UNAVAILABLE');
      assert.equal(await stateOf(id), 'running');
      const report = await hub.admin.drift.check.mutate();
      assert.ok(!(report.answered as string[]).includes('spoke-b'));
      assert.equal(await stateOf(id), 'running', 'a host that did not answer changes nothing');
      // Once the hub counts it offline it is not even asked.
      await until('spoke-b offline', async () => !(await hub.admin.host.list.query()).find((h) => h.id === 'spoke-b')?.online, 20_000);
      const later = await hub.admin.drift.check.mutate();
      assert.ok((later.failed as { hostId: string; status: string }[]).some((f) => f.hostId === 'spoke-b' && f.status === 'offline'));
      assert.equal(await stateOf(id), 'running', 'an offline host changes nothing');
    } finally {
      b = await startSpokeProcess({ hub, hostId: 'spoke-b', tls, port: b.port, hostToken: b.hostToken, hubToken: b.hubToken, stateDir: b.stateDir, env: { FAKE_CREATE_MS: '100', FAKE_IMAGES: ON_B } });
      await allOnline(hub, ['spoke-a', 'spoke-b']);
    }
  });

  test("a create's steps reach its watchers in order, as they happen", async () => {
    const watch = await CapsulWatch.open(hub, alice);
    await watch.connected;
    const { capsulId: id } = await running(alice, { name: 'stepwise' });
    await until('the last change', async () => watch.statesOf(id).includes('running'), 30_000, 50);
    await watch.close();
    const steps: (string | null)[] = [];
    for (const c of watch.received as unknown as { id: string; step: string | null }[]) if (c.id === id && steps.at(-1) !== c.step) steps.push(c.step);
    assert.deepEqual(steps.filter(Boolean), ['assigned', 'disk', 'seed', 'defined', 'booting', 'address']);
    assert.equal(steps.at(-1), null, 'no step once it runs');
  });

  test('a progress report from a host that does not own the create is refused and changes nothing', async () => {
    const created = await alice.client.capsul.create.mutate({ name: 'reported', image: 'debian-12', size: 'nano' });
    const { operationId, capsulId: id } = created;
    assert.equal(created.hostId, 'spoke-a');
    // spoke-b was offered the create too (and said it lacks the image): it may not report on it.
    const err = await refusal(asHost(b).spoke.reportProgress.mutate({ operationId, step: 'address' }));
    assert.equal(err.data?.code, 'FORBIDDEN');
    const never = await refusal(asHost(b).spoke.reportProgress.mutate({ operationId: '00000000-0000-4000-8000-000000000000', step: 'disk' }));
    assert.equal(never.data?.code, 'NOT_FOUND');
    const bad = await refusal(asHost(a).spoke.reportProgress.mutate({ operationId, step: 'assigned' as never }));
    assert.equal(bad.data?.code, 'BAD_REQUEST', 'assigned is the hub\'s to say');
    await until('running', async () => (await alice.client.capsul.byId.query({ id })).state === 'running');

    const done = await alice.client.capsul.byId.query({ id });
    assert.equal(done.step, null);
    for (const host of [a, b]) await asHost(host).spoke.reportProgress.mutate({ operationId, step: 'disk' }).catch(() => undefined);
    const later = await alice.client.capsul.byId.query({ id });
    assert.equal(later.step, null, 'a late report, even the owner\'s, changes nothing');
    assert.equal(later.updatedAt.getTime(), done.updatedAt.getTime());
  });

  test('the operations name the power action', async () => {
    const { capsulId: id } = await running(alice, { name: 'powered' });
    for (const command of ['stop', 'start', 'restart', 'forceStop'] as const) await alice.client.capsul.setState.mutate({ id, command });
    const actions = (await alice.client.capsul.operations.query({ id })).map((o) => o.action);
    assert.deepEqual(actions.slice(0, 4), ['force stop', 'restart', 'start', 'stop']);
    assert.ok(!actions.includes('power'));
    const logged = await hub.admin.operation.list.query({ capsulId: id, kind: 'vmState' });
    assert.deepEqual(logged.map((o) => o.action), ['force stop', 'restart', 'start', 'stop']);
    assert.ok(logged.every((o) => o.capsul?.name === 'powered'));
  });
});
