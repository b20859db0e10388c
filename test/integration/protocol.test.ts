// The protocol's promises with real processes (PROTOCOL.md v1.1; issue 11, items 11 and 14): a hub process on
// PostgreSQL, a fake-driver spoke process, and spokes written from PROTOCOL.md in this process
// (support/scripted-spoke.ts) whose answers each test scripts: contradictory answers to a create, reports from
// hosts that do not own the operation, a spoke that cannot call back, the bare heartbeat answer, and creates
// refused before anything is written.
//
// The fake spoke has two of the three catalog images: a create of `alpine-3.20` is one only the scripted
// spokes can say yes to, so those tests decide exactly who claims.
import assert from 'node:assert/strict';
import { after, afterEach, before, describe, test } from 'node:test';
import { TRPCClientError } from '@trpc/client';
import pg from 'pg';
import type { HubRouter } from '~/hub/root';
import { fieldIssues } from '~/lib/trpc-errors';
import { createTestDatabase } from '../support/postgres';
import { allOnline, freePort, startHubProcess, startSpokeProcess, until, type Hub, type SpokeHandle } from '../support/processes';
import { ScriptedSpoke, type Offer } from '../support/scripted-spoke';
import { makeTestTls, type TestTls } from '../support/tls';

const OWNER = 'protocol@example.com';
const HEARTBEAT_PERIOD_MS = 500;
// The fake spoke's build takes this long: the conflict's destroy reaches it mid-build, as a real VM's would.
const FAKE_CREATE_MS = 1000;
const ONLY_SCRIPTED_IMAGE = 'alpine-3.20';

async function refused(call: () => Promise<unknown>): Promise<TRPCClientError<HubRouter>> {
  try {
    await call();
  } catch (err) {
    if (err instanceof TRPCClientError) return err as TRPCClientError<HubRouter>;
    throw err;
  }
  assert.fail('the call was accepted');
}

/** Samples `check` every 100 ms until `done` holds; `check` throws on a bad sample. */
async function throughout(done: () => boolean, check: () => Promise<void>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!done()) {
    if (Date.now() > deadline) throw new Error(`not done within ${timeoutMs} ms`);
    await check();
    await new Promise((r) => setTimeout(r, 100));
  }
  await check();
}

describe('protocol promises, with real processes and scripted spokes', () => {
  let tls: TestTls;
  let database: Awaited<ReturnType<typeof createTestDatabase>>;
  let sql: pg.Client;
  let hub: Hub;
  let fake: SpokeHandle;
  let a: ScriptedSpoke;
  let b: ScriptedSpoke;

  /** An operation's row, its hosts' rows and its capsul's row, read straight from the database. */
  async function rowsOf(operationId: string, capsulId: string) {
    const op = (await sql.query('SELECT * FROM "Operation" WHERE id = $1', [operationId])).rows[0];
    const hostOps = (await sql.query('SELECT * FROM "HostOperation" WHERE "operationId" = $1 ORDER BY "hostId"', [operationId])).rows;
    const capsul = (await sql.query('SELECT * FROM "Capsul" WHERE id = $1', [capsulId])).rows[0];
    return { op, hostOps, capsul };
  }

  const hostRow = (rows: Awaited<ReturnType<typeof rowsOf>>, hostId: string) => rows.hostOps.find((h) => h.hostId === hostId);

  /** The offer a scripted spoke received last: the operation and capsul ids of the create it was asked to take. */
  const lastOffer = (spoke: ScriptedSpoke) => spoke.received('create').at(-1)!.input as Offer;

  const destroysSentTo = (spoke: ScriptedSpoke, capsulId: string) => spoke.received('destroy').filter((c) => (c.input as { id: string }).id === capsulId);

  async function systemDestroys(capsulId: string) {
    const ops = await hub.admin.operation.list.query({ kind: 'destroy', capsulId });
    return ops.filter((o) => o.actor === 'system' && o.state === 'completed');
  }

  before(async () => {
    tls = await makeTestTls();
    database = await createTestDatabase();
    sql = new pg.Client({ connectionString: database.url });
    await sql.connect();
    hub = await startHubProcess({
      databaseUrl: database.url,
      tls,
      // Rounds every half second so hosts come online quickly; a host stays online for ten rounds without one.
      env: { HEARTBEAT_PERIOD_MS: String(HEARTBEAT_PERIOD_MS), ONLINE_WINDOW_MS: String(HEARTBEAT_PERIOD_MS * 10) },
    });
    fake = await startSpokeProcess({ hub, hostId: 'fake-1', tls, env: { FAKE_IMAGES: 'debian-12,ubuntu-24.04', FAKE_CREATE_MS: String(FAKE_CREATE_MS) } });
    a = await ScriptedSpoke.start({ hub, hostId: 'scripted-a', tls });
    b = await ScriptedSpoke.start({ hub, hostId: 'scripted-b', tls });
    await allOnline(hub, ['fake-1', 'scripted-a', 'scripted-b']);
  });

  afterEach(() => {
    a.reset();
    b.reset();
  });

  after(async () => {
    await fake?.proc.stop();
    await hub?.proc.stop();
    await a?.close();
    await b?.close();
    await sql?.end();
    await database?.drop();
  });

  test('a heartbeat answered with exactly { ok: true } keeps the host online, with no error, round after round', async () => {
    const heard = a.received('heartbeat').length;
    await throughout(
      () => a.received('heartbeat').length >= heard + 12,
      async () => {
        const host = (await hub.admin.host.list.query()).find((h) => h.id === 'scripted-a')!;
        assert.equal(host.online, true, 'online');
        assert.equal(host.lastError, null, 'no error recorded for the bare answer');
      },
      HEARTBEAT_PERIOD_MS * 40,
    );
  });

  test('two hosts say "assigned", one without claiming: conflict naming both, capsul failed, the error kept after the owner reports, every VM destroyed', async () => {
    a.script.create = async () => ({ assignmentStatus: 'assigned' }); // and never claims
    const err = await refused(() => hub.admin.capsul.create.mutate({ owner: OWNER, image: 'debian-12', size: 'nano' }));
    assert.equal(err.data?.code, 'CONFLICT', err.message);
    assert.match(err.message, /scripted-a/);
    assert.match(err.message, /fake-1/);

    const { operationId, id: capsulId } = lastOffer(a);
    const decided = await rowsOf(operationId, capsulId);
    assert.equal(decided.op.state, 'conflict');
    assert.equal(decided.op.hostId, 'fake-1', 'the database gave it to the host that claimed');
    assert.match(decided.op.error, /scripted-a/);
    assert.match(decided.op.error, /fake-1/);
    assert.equal(hostRow(decided, 'scripted-a')?.assignmentStatus, 'assigned', 'what scripted-a answered');
    assert.equal(hostRow(decided, 'fake-1')?.assignmentStatus, 'assigned');
    assert.equal(hostRow(decided, 'scripted-b')?.assignmentStatus, 'not_applicable');
    assert.equal(decided.capsul.state, 'failed');
    assert.notEqual(decided.capsul.deletedAt, null, 'not among the live capsuls');

    // The owner builds and reports; the hub acknowledges the report and keeps the conflict.
    await fake.proc.waitFor((l) => l.msg === 'completion acknowledged by the hub' && l.operationId === operationId, 20_000);
    const reported = await rowsOf(operationId, capsulId);
    assert.notEqual(hostRow(reported, 'fake-1')?.result, null, 'the report is recorded');
    assert.equal(reported.op.state, 'conflict');
    assert.equal(reported.op.error, decided.op.error, 'the error stays whatever is reported later');
    assert.equal(reported.capsul.state, 'failed');
    assert.equal(reported.capsul.error, decided.capsul.error);

    // Nothing of it is left on either host, and each removal is an operation by `system`.
    await until('the fake spoke no longer has the VM', async () => !(await hub.admin.fleet.list.mutate()).capsuls.some((c) => c.id === capsulId), 20_000);
    await until('scripted-a was sent a destroy', async () => destroysSentTo(a, capsulId).length > 0, 20_000);
    const destroys = await until('both destroys recorded', async () => {
      const ops = await systemDestroys(capsulId);
      return ['fake-1', 'scripted-a'].every((h) => ops.some((o) => o.hostId === h)) && ops;
    }, 20_000);
    assert.ok(destroys.every((o) => o.actor === 'system'));
    assert.equal(destroysSentTo(b, capsulId).length, 0, 'the host that said no is left alone');
  });

  test('a conflicted create whose owner reports a finished build later: acknowledged, the conflict stays, and its VM is destroyed again', async () => {
    a.script.create = async (offer, spoke) => {
      await spoke.claim(offer.operationId);
      return { assignmentStatus: 'assigned' };
    };
    b.script.create = async () => ({ assignmentStatus: 'assigned' }); // without claiming
    const err = await refused(() => hub.admin.capsul.create.mutate({ owner: OWNER, image: ONLY_SCRIPTED_IMAGE, size: 'nano' }));
    assert.equal(err.data?.code, 'CONFLICT', err.message);
    assert.match(err.message, /scripted-a/);
    assert.match(err.message, /scripted-b/);
    const { operationId, id: capsulId } = lastOffer(a);
    await until('the conflict destroys reach both hosts', async () => destroysSentTo(a, capsulId).length > 0 && destroysSentTo(b, capsulId).length > 0, 20_000);
    const decided = await rowsOf(operationId, capsulId);
    assert.equal(decided.op.state, 'conflict');

    const destroysBefore = destroysSentTo(a, capsulId).length;
    const ack = await a.complete(operationId, { ok: true, state: 'running', ipv4: '10.77.0.2' });
    assert.deepEqual(ack, { acknowledged: true });
    const reported = await rowsOf(operationId, capsulId);
    assert.equal(reported.op.state, 'conflict');
    assert.equal(reported.op.error, decided.op.error, 'the report does not wipe the conflict');
    assert.equal(reported.capsul.state, 'failed');
    assert.equal(reported.capsul.ipv4, null, 'the address of a VM nobody should have is not shown');
    assert.deepEqual(hostRow(reported, 'scripted-a')?.result, { ok: true, state: 'running', ipv4: '10.77.0.2' });
    await until('the VM the owner reported is destroyed too', async () => destroysSentTo(a, capsulId).length > destroysBefore, 20_000);
    await until('recorded as operations by system', async () => (await systemDestroys(capsulId)).filter((o) => o.hostId === 'scripted-a').length >= 2, 20_000);
  });

  test('the host that wins the claim but answers "not_applicable": conflict naming it, its answer recorded as given, capsul failed, a destroy sent', async () => {
    a.script.create = async (offer, spoke) => {
      await spoke.claim(offer.operationId);
      return { assignmentStatus: 'not_applicable', reason: 'scripted: claimed it, then changed its mind' };
    };
    const err = await refused(() => hub.admin.capsul.create.mutate({ owner: OWNER, image: ONLY_SCRIPTED_IMAGE, size: 'nano' }));
    assert.equal(err.data?.code, 'CONFLICT', err.message);
    assert.match(err.message, /scripted-a/);

    const { operationId, id: capsulId } = lastOffer(a);
    const rows = await rowsOf(operationId, capsulId);
    assert.equal(rows.op.state, 'conflict');
    assert.equal(rows.op.hostId, 'scripted-a', 'its claim won');
    assert.match(rows.op.error, /scripted-a/);
    assert.match(rows.op.error, /not_applicable/);
    assert.equal(hostRow(rows, 'scripted-a')?.assignmentStatus, 'not_applicable', 'recorded as it answered, not as its claim');
    assert.equal(hostRow(rows, 'scripted-a')?.reason, 'scripted: claimed it, then changed its mind');
    assert.equal(rows.capsul.state, 'failed');
    await until('scripted-a was sent a destroy', async () => destroysSentTo(a, capsulId).length > 0, 20_000);
    await until('recorded as an operation by system', async () => (await systemDestroys(capsulId)).some((o) => o.hostId === 'scripted-a'), 20_000);
  });

  test('spoke.completeOperation: refused from a host that does not own it and for a different repeat, acknowledged for the same repeat; none changes anything', async () => {
    a.script.create = async (offer, spoke) => {
      await spoke.claim(offer.operationId);
      return { assignmentStatus: 'assigned' };
    };
    const created = await hub.admin.capsul.create.mutate({ owner: OWNER, image: ONLY_SCRIPTED_IMAGE, size: 'nano' });
    assert.equal(created.hostId, 'scripted-a');
    const { operationId, capsulId } = created;
    // A host added after the create was never offered it.
    const late = await ScriptedSpoke.start({ hub, hostId: 'scripted-late', tls });
    try {
      // While the create is scripted-a's to build: another host's report would end it.
      const building = await rowsOf(operationId, capsulId);
      assert.equal(building.op.state, 'assigned');
      assert.equal(building.capsul.state, 'creating');
      const report = { ok: true, state: 'running', ipv4: '10.77.0.3' } as const;
      for (const [spoke, label] of [[b, 'offered it, does not own it'], [late, 'never offered it']] as const) {
        const err = await refused(() => spoke.complete(operationId, report));
        assert.ok(['FORBIDDEN', 'NOT_FOUND'].includes(err.data?.code ?? ''), `${label}: ${err.data?.code} ${err.message}`);
        assert.deepEqual(await rowsOf(operationId, capsulId), building, `${label}: nothing changed`);
      }

      assert.deepEqual(await a.complete(operationId, report), { acknowledged: true });
      const completed = await rowsOf(operationId, capsulId);
      assert.equal(completed.op.state, 'completed');
      assert.equal(completed.capsul.state, 'running');
      assert.equal(completed.capsul.ipv4, '10.77.0.3');

      for (const different of [{ ok: false, error: 'scripted: it broke after all' }, { ok: true, state: 'running', ipv4: '10.77.0.4' }] as const) {
        const err = await refused(() => a.complete(operationId, different));
        assert.equal(err.data?.code, 'CONFLICT', err.message);
        assert.deepEqual(await rowsOf(operationId, capsulId), completed, 'a different repeat changes nothing');
      }
      assert.deepEqual(await a.complete(operationId, report), { acknowledged: true }, 'the same report again');
      assert.deepEqual(await rowsOf(operationId, capsulId), completed, 'the same repeat changes nothing');
      const err = await refused(() => b.complete(operationId, { ok: false, error: 'scripted: not mine, but failed' }));
      assert.ok(['FORBIDDEN', 'NOT_FOUND'].includes(err.data?.code ?? ''), `after completion, from another host: ${err.data?.code}`);
      assert.deepEqual(await rowsOf(operationId, capsulId), completed, 'nothing changed');
    } finally {
      await late.close();
      await hub.admin.host.remove.mutate({ id: 'scripted-late' });
    }
  });

  test('a spoke the hub can reach but that cannot call back is never online, never offered a create, and the host list says why', async () => {
    const nowhere = `https://127.0.0.1:${await freePort()}`; // nothing listens there
    // As the protocol says: it calls back, fails, and answers the heartbeat with that error.
    const cutOff = await ScriptedSpoke.start({ hub, hostId: 'cut-off', tls, hubUrl: nowhere });
    // Hostile: answers { ok: true } without calling back at all.
    const liar = await ScriptedSpoke.start({ hub, hostId: 'liar', tls });
    liar.script.heartbeat = async () => ({ ok: true });
    const real = await startSpokeProcess({ hub, hostId: 'cut-off-fake', tls, env: { HUB_URL: nowhere } });
    const hostIds = ['cut-off', 'liar', 'cut-off-fake'];
    try {
      let created: { operationId: string } | undefined;
      const rounds = () => Math.min(cutOff.received('heartbeat').length, liar.received('heartbeat').length);
      await throughout(
        () => rounds() >= 8,
        async () => {
          const hosts = await hub.admin.host.list.query();
          for (const id of hostIds) assert.equal(hosts.find((h) => h.id === id)?.online, false, `${id} is not online`);
          // A create while they are being asked: offered to the hosts that are online only.
          if (!created && rounds() >= 2) created = await hub.admin.capsul.create.mutate({ owner: OWNER, image: 'debian-12', size: 'nano' });
        },
        HEARTBEAT_PERIOD_MS * 60,
      );
      assert.ok(created);
      for (const spoke of [cutOff, liar]) assert.equal(spoke.received('create').length, 0, `${spoke.hostId} was offered nothing`);
      const offeredTo = (await sql.query('SELECT "hostId" FROM "HostOperation" WHERE "operationId" = $1', [created.operationId])).rows.map((r) => r.hostId);
      for (const id of hostIds) assert.ok(!offeredTo.includes(id), `${id} is not among the hosts offered the create (${offeredTo.join(', ')})`);

      // Why, as the host list shows it: the spoke's own error, or that its answer came without a call back.
      const why: Record<string, RegExp> = {
        'cut-off': /^error_response_from_host: /,
        liar: /without calling the hub's spoke\.heartbeat/,
        'cut-off-fake': /^error_response_from_host: BAD_GATEWAY: this spoke cannot call the hub back \(spoke\.heartbeat\): .*ECONNREFUSED/,
      };
      const hosts = await hub.admin.host.list.query();
      for (const id of hostIds) {
        const host = hosts.find((h) => h.id === id)!;
        assert.equal(host.lastHealthCheck, null, `${id}: never heard from`);
        assert.match(host.lastError ?? '', why[id]!, `${id}: the host list says why it is offline`);
      }
    } finally {
      await real.proc.stop();
      await cutOff.close();
      await liar.close();
      for (const id of hostIds) await hub.admin.host.remove.mutate({ id });
    }
  });

  test('a create refused for a bad size or a bad image, for an owner the hub has never seen: BAD_REQUEST naming the field, nothing written', async () => {
    const stranger = 'never-seen@example.com';
    const written = async () => (await sql.query(`
      SELECT (SELECT count(*)::int FROM "Account") AS accounts,
             (SELECT count(*)::int FROM "Account" WHERE email = $1) AS strangers,
             (SELECT count(*)::int FROM "Capsul") AS capsuls,
             (SELECT count(*)::int FROM "Operation" WHERE kind = 'create') AS creates,
             (SELECT count(*)::int FROM "HostOperation" h JOIN "Operation" o ON o.id = h."operationId" WHERE o.kind = 'create') AS offers`, [stranger])).rows[0];
    const before = await written();
    assert.equal(before.strangers, 0);
    for (const [field, input] of [
      ['size', { owner: stranger, image: 'debian-12', size: 'no-such-size' }],
      ['image', { owner: stranger, image: 'no-such-image', size: 'nano' }],
    ] as const) {
      const err = await refused(() => hub.admin.capsul.create.mutate(input));
      assert.equal(err.data?.code, 'BAD_REQUEST', err.message);
      assert.deepEqual(fieldIssues(err).map((i) => i.path), [field], `names ${field}: "${err.message}"`);
      assert.deepEqual(await written(), before, `refused for its ${field}: no Account row for ${stranger}, nothing else either`);
    }
  });
});
