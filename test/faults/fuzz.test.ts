// Property-based fuzzing of every hub and spoke procedure that takes input: one field of a valid input is
// replaced by a generated bad value (wrong type, out of range, a shell metacharacter, oversized), or the
// whole input by a non-object. Each call must answer BAD_REQUEST naming the field, and change nothing.
// The procedures run in-process (the real routers, real authentication, PGlite for the hub's database).
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtemp } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { TRPCError } from '@trpc/server';
import fc from 'fast-check';
import { SPOKE_HOST_ID_HEADER } from '~/contract/hub';
import { log } from '~/lib/log';
import { hashToken, newToken } from '~/lib/tokens';
import { recordFigures } from '../support/figures';
import { openTestDatabase, type TestDb } from '../support/hub-db';

const ADMIN_TOKEN = newToken();
process.env.HUB_ADMIN_TOKEN = ADMIN_TOKEN;
process.env.LOG_LEVEL = 'error';
process.env.SPOKE_CALL_TIMEOUT_MS = '500';
process.env.PUBLIC_URL = 'https://hub.test'; // the origin the account's calls below come from (CSRF check)
process.env.BENCH_MODE = 'true'; // so the bench procedures validate their input (they are refused without it)

type Kind = 'id' | 'text' | 'int' | 'count' | 'enum' | 'bool' | 'uuid' | 'keys' | 'object';
type Case = { name: string; call: (input: unknown) => Promise<unknown>; valid: Record<string, unknown>; fields: Record<string, Kind> };

const KEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGvatMdwSOLaKEdOnZWAjMM8ufgWQtrOIXrHIPn9Swud fuzz@capsul';
const notString = fc.oneof(fc.integer(), fc.boolean(), fc.constant(null), fc.object({ maxDepth: 1 }), fc.array(fc.integer(), { maxLength: 3 }));
const notNumber = fc.oneof(fc.string({ maxLength: 8 }), fc.boolean(), fc.constant(null), fc.object({ maxDepth: 1 }));
const hostile = fc.string({ maxLength: 20 }).map((s) => `${s};rm -rf / $(reboot) \`id\``);
const oversized = fc.integer({ min: 5000, max: 100_000 }).map((n) => 'a'.repeat(n));

/** Values no field of that kind accepts. */
function bad(kind: Kind): fc.Arbitrary<unknown> {
  switch (kind) {
    case 'id': return fc.oneof(notString, hostile, oversized, fc.string({ maxLength: 30 }).filter((s) => !/^(capsul-[a-z0-9]{10}|[a-z0-9][a-z0-9._-]*)$/.test(s)));
    case 'text': return fc.oneof(notString, oversized);
    case 'int': return fc.oneof(notNumber, fc.double({ noInteger: true, noDefaultInfinity: true }).filter((d) => !Number.isNaN(d)));
    case 'count': return fc.oneof(notNumber, fc.integer({ max: 0 }), fc.integer({ min: 10_000_000 }), fc.double({ noInteger: true, noDefaultInfinity: true }).filter((d) => !Number.isNaN(d)));
    case 'enum': return fc.oneof(notString, hostile, fc.constantFrom('', 'RUNNING', 'admin', 'reboot'));
    case 'bool': return fc.oneof(fc.string({ maxLength: 5 }), fc.integer(), fc.constant(null), fc.object({ maxDepth: 1 }));
    case 'uuid': return fc.oneof(notString, hostile, fc.string({ maxLength: 40 }).filter((s) => !/^[0-9a-f-]{36}$/.test(s)));
    case 'keys': return fc.oneof(fc.integer(), fc.boolean(), fc.constant(null), fc.object({ maxDepth: 1 }), fc.array(fc.oneof(hostile, oversized, fc.constant('ssh-rsa AAAA')), { minLength: 1, maxLength: 3 }), fc.array(fc.constant(KEY), { minLength: 40, maxLength: 40 }));
    case 'object': return fc.oneof(fc.string({ maxLength: 8 }), fc.integer(), fc.constant(null), fc.record({ ok: fc.constant('yes') }));
  }
}

describe('fuzzing every procedure input', () => {
  let database: TestDb;
  const cases: Case[] = [];
  let runs = 0;

  async function snapshot(): Promise<string> {
    const tables = ['Host', 'Operation', 'HostOperation', 'Capsul', 'Account', 'SshKey', 'Session', 'LoginToken', 'OsImage', 'VmSize', 'Reconciliation', 'Snapshot', 'CapsulUsage', 'HostUsage', 'UsageRollup'];
    const out: Record<string, unknown> = {};
    for (const t of tables) out[t] = await database.db.$queryRawUnsafe(`SELECT * FROM "${t}" ORDER BY 1`);
    return JSON.stringify(out, (_k, v) => (typeof v === 'bigint' ? String(v) : v));
  }

  before(async () => {
    database = await openTestDatabase('pglite');
    const { db } = database;
    const { createHubCaller } = await import('~/hub/root');
    const { createSession } = await import('~/hub/auth/sessions');
    const { Spoke } = await import('~/spoke/spoke');
    const { FakeHypervisor } = await import('~/spoke/hypervisor/fake');
    const { Outbox } = await import('~/spoke/outbox');
    const { spokeRouter } = await import('~/spoke/router');

    const hostToken = newToken();
    await db.host.create({ data: { id: 'fuzz-host', httpsUrl: 'https://127.0.0.1:9', tokenHash: hashToken(hostToken) } });
    const account = await db.account.create({ data: { email: 'fuzz@example.com' } });
    const session = await createSession(db, account.id, 30);
    const admin = createHubCaller({ db, headers: new Headers({ authorization: `Bearer ${ADMIN_TOKEN}` }) });
    const user = createHubCaller({ db, headers: new Headers({ cookie: `capsul_session=${session}`, origin: 'https://hub.test', host: 'hub.test' }) });
    const asHost = createHubCaller({ db, headers: new Headers({ authorization: `Bearer ${hostToken}`, [SPOKE_HOST_ID_HEADER]: 'fuzz-host' }) });
    const anyone = createHubCaller({ db, headers: new Headers() });

    const dir = await mkdtemp(path.join(os.tmpdir(), 'fuzz-spoke-'));
    const outbox = new Outbox(path.join(dir, 'outbox'), async () => 'acknowledged', log);
    const spoke = new Spoke(new FakeHypervisor({ stateDir: dir, memoryMb: 4096, diskGb: 100, createMs: 0, images: '*' }), null as never, outbox, log, path.join(dir, 'builds'));
    const onSpoke = spokeRouter.createCaller({ spoke, log: log });

    const opId = randomUUID();
    const capsul = 'capsul-fuzzfuzz00';
    const create = { operationId: opId, id: capsul, vcpus: 1, memoryMb: 512, diskGb: 10, image: 'debian-12', imageFiles: { disk: 'd.qcow2' }, sshAuthorizedKeys: [KEY] };
    const c = (name: string, call: (i: never) => Promise<unknown>, valid: Record<string, unknown>, fields: Record<string, Kind>) =>
      cases.push({ name, call: call as (i: unknown) => Promise<unknown>, valid, fields });

    c('spoke.heartbeat', (i) => asHost.spoke.heartbeat(i), { driver: 'fake', freeMemoryMb: 1, freeDiskGb: 1 }, { driver: 'enum', freeMemoryMb: 'int', freeDiskGb: 'int' });
    c('spoke.claimOperation', (i) => asHost.spoke.claimOperation(i), { operationId: opId }, { operationId: 'uuid' });
    c('spoke.completeOperation', (i) => asHost.spoke.completeOperation(i), { operationId: opId, result: { ok: true, state: 'running' } }, { operationId: 'uuid', result: 'object' });
    c('auth.requestLink', (i) => anyone.auth.requestLink(i), { email: 'a@example.com' }, { email: 'id' });
    c('auth.verify', (i) => anyone.auth.verify(i), { token: newToken() }, { token: 'id' });
    c('auth.logout', (i) => user.auth.logout(i), { everywhere: false }, { everywhere: 'bool' });
    c('sshKey.add', (i) => user.sshKey.add(i), { name: 'laptop', content: KEY }, { name: 'id', content: 'keys' });
    c('sshKey.remove', (i) => user.sshKey.remove(i), { id: randomUUID() }, { id: 'uuid' });
    c('capsul.create', (i) => admin.capsul.create(i), { owner: 'x@example.com', image: 'debian-12', size: 'nano', sshKeyIds: [], sshAuthorizedKeys: [KEY] },
      { owner: 'id', image: 'id', size: 'id', sshKeyIds: 'keys', sshAuthorizedKeys: 'keys', vcpus: 'count', memoryMb: 'count', diskGb: 'count' });
    c('capsul.capacity', (i) => user.capsul.capacity(i), { size: 'nano' }, { size: 'id' });
    c('capsul.list', (i) => admin.capsul.list(i), { includeDeleted: false }, { includeDeleted: 'bool', all: 'bool', owner: 'id' });
    for (const name of ['byId', 'refresh', 'destroy', 'operations'] as const) {
      c(`capsul.${name}`, (i) => (user.capsul[name] as (i: unknown) => Promise<unknown>)(i), { id: capsul }, { id: 'id' });
    }
    c('capsul.setState', (i) => user.capsul.setState(i), { id: capsul, command: 'stop' }, { id: 'id', command: 'enum' });
    c('capsul.resize', (i) => user.capsul.resize(i), { id: capsul, size: 'small' }, { id: 'id', size: 'id' });
    c('capsul.resizeOptions', (i) => user.capsul.resizeOptions(i), { id: capsul }, { id: 'id' });
    c('capsul.rebuild', (i) => user.capsul.rebuild(i), { id: capsul, image: 'debian-12', sshKeyIds: [], sshAuthorizedKeys: [KEY], confirm: 'x' },
      { id: 'id', image: 'id', sshKeyIds: 'keys', sshAuthorizedKeys: 'keys', confirm: 'text' });
    c('snapshot.list', (i) => user.snapshot.list(i), { capsulId: capsul }, { capsulId: 'id' });
    c('snapshot.create', (i) => user.snapshot.create(i), { capsulId: capsul, name: 'snap', note: 'a note' }, { capsulId: 'id', name: 'id', note: 'text' });
    for (const name of ['revert', 'delete'] as const) {
      c(`snapshot.${name}`, (i) => (user.snapshot[name] as (i: unknown) => Promise<unknown>)(i), { capsulId: capsul, snapshotId: 'snap-abcdefghij' }, { capsulId: 'id', snapshotId: 'id' });
    }
    c('usage.capsul', (i) => user.usage.capsul(i), { capsulId: capsul, range: 'hour' }, { capsulId: 'id', range: 'enum' });
    c('usage.host', (i) => admin.usage.host(i), { hostId: 'fuzz-host', range: 'day' }, { hostId: 'id', range: 'enum' });
    c('usage.top', (i) => admin.usage.top(i), { range: 'hour', limit: 5 }, { range: 'enum', limit: 'count' });
    c('spoke.reportUsage', (i) => asHost.spoke.reportUsage(i), { points: [{ at: new Date(), seconds: 15, host: { cpuPercent: 1, memoryUsedBytes: 1, memoryTotalBytes: 2, diskUsedBytes: 1, diskTotalBytes: 2 }, capsuls: [] }] }, { points: 'object' });
    c('host.add', (i) => admin.host.add(i), { id: 'new-host', httpsUrl: 'https://127.0.0.1:10' }, { id: 'id', httpsUrl: 'id' });
    c('host.update', (i) => admin.host.update(i), { id: 'fuzz-host', rotateToken: false }, { id: 'id', httpsUrl: 'id', rotateToken: 'bool' });
    c('host.remove', (i) => admin.host.remove(i), { id: 'nobody' }, { id: 'id' });
    c('image.upsert', (i) => admin.image.upsert(i), { id: 'img', name: 'Image', file: 'img.qcow2' }, { id: 'id', name: 'text', file: 'id', kernel: 'id', initrd: 'id', cmdline: 'text', enabled: 'bool', sortOrder: 'count' });
    c('image.disable', (i) => admin.image.disable(i), { id: 'nope' }, { id: 'id' });
    c('fleet.capacity', (i) => admin.fleet.capacity(i), { memoryMb: 512, diskGb: 1 }, { memoryMb: 'count', diskGb: 'count' });
    c('operation.list', (i) => admin.operation.list(i), { limit: 5 }, { kind: 'enum', state: 'enum', hostId: 'id', capsulId: 'id', limit: 'count' });
    c('drift.history', (i) => admin.drift.history(i), { limit: 5 }, { limit: 'count' });
    c('bench.fanOut', (i) => admin.bench.fanOut(i), { kind: 'list', iterations: 1, warmup: 0 }, { kind: 'enum', iterations: 'count', warmup: 'int' });
    c('bench.create', (i) => admin.bench.create(i), { iterations: 1, warmup: 0, size: 'nano' }, { iterations: 'count', warmup: 'int', size: 'id' });
    c('spoke router: capacityAvailable', (i) => onSpoke.capacityAvailable(i), { memoryMb: 512, diskGb: 1 }, { memoryMb: 'count', diskGb: 'count' });
    c('spoke router: get', (i) => onSpoke.get(i), { id: capsul }, { id: 'id' });
    c('spoke router: destroy', (i) => onSpoke.destroy(i), { id: capsul }, { id: 'id' });
    c('spoke router: vmState', (i) => onSpoke.vmState(i), { id: capsul, command: 'stop' }, { id: 'id', command: 'enum' });
    c('spoke router: change', (i) => onSpoke.change(i), { operationId: opId, id: capsul, change: { kind: 'snapshotCreate', snapshotId: 'snap-abcdefghij' } }, { operationId: 'uuid', id: 'id', change: 'object' });
    c('spoke router: create', (i) => onSpoke.create(i), create, { operationId: 'uuid', id: 'id', vcpus: 'count', memoryMb: 'count', diskGb: 'count', image: 'id', imageFiles: 'object', sshAuthorizedKeys: 'keys' });
  });
  after(async () => {
    await database?.drop();
    await recordFigures('fuzz', {
      fault: `property-based fuzzing (fast-check) of ${cases.length} procedure inputs, hub and spoke`,
      faultsInjected: runs,
      operations: runs,
      lost: 0,
      doubled: 0,
      worstRecoveryMs: 0,
      notes: 'every malformed input answered BAD_REQUEST naming its field; the database and the hypervisor unchanged after each procedure’s runs',
    });
  });

  test('one field made bad: BAD_REQUEST naming that field, nothing changed', async () => {
    for (const kase of cases) {
      const before = await snapshot();
      await fc.assert(
        fc.asyncProperty(
          fc.constantFrom(...Object.entries(kase.fields)).chain(([field, kind]) => bad(kind).map((value) => ({ field, value }))),
          async ({ field, value }) => {
            runs++;
            const err = await kase.call({ ...kase.valid, [field]: value }).then(() => undefined, (e: unknown) => e);
            assert.ok(err instanceof TRPCError, `${kase.name}: ${field}=${JSON.stringify(value)?.slice(0, 80)} was accepted`);
            assert.equal(err.code, 'BAD_REQUEST', `${kase.name}: ${field}: ${err.message}`);
            const issues = (err.cause as { issues?: { path: (string | number)[] }[] } | undefined)?.issues ?? [];
            assert.ok(issues.some((i) => i.path[0] === field), `${kase.name}: the error names ${field}: ${err.message}`);
          },
        ),
        { numRuns: 40, seed: 20261127 },
      );
      assert.equal(await snapshot(), before, `${kase.name} changed nothing`);
    }
  });

  test('not an object at all: BAD_REQUEST, nothing changed', async () => {
    const before = await snapshot();
    for (const kase of cases) {
      await fc.assert(
        fc.asyncProperty(fc.oneof(fc.string(), fc.integer(), fc.boolean(), fc.constant(null), fc.array(fc.anything(), { maxLength: 3 })), async (value) => {
          runs++;
          const err = await kase.call(value).then(() => undefined, (e: unknown) => e);
          assert.ok(err instanceof TRPCError && err.code === 'BAD_REQUEST', `${kase.name}: ${JSON.stringify(value)?.slice(0, 60)} → ${String(err)}`);
        }),
        { numRuns: 15, seed: 7 },
      );
    }
    assert.equal(await snapshot(), before);
  });
});
