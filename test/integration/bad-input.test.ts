// Every procedure, given malformed input, answers BAD_REQUEST (or the refusal it is) naming exactly the bad
// field in data.issues, with a message in plain sentences, and changes nothing.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { createTRPCClient, httpLink, TRPCClientError } from '@trpc/client';
import superjson from 'superjson';
import type { HubRouter } from '~/hub/root';
import { httpsFetch } from '~/lib/https-fetch';
import { createHubClient } from '~/spoke/hub-client';
import type { SpokeRouter } from '~/spoke/router';
import { signIn, type Session } from '../support/accounts';
import { createTestDatabase } from '../support/postgres';
import { allOnline, startHubProcess, startSpokeProcess, until, type Hub, type SpokeHandle } from '../support/processes';
import { makeTestTls, type TestTls } from '../support/tls';

const KEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGvatMdwSOLaKEdOnZWAjMM8ufgWQtrOIXrHIPn9Swud ok@capsul';
const KEY_AGAIN = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGvatMdwSOLaKEdOnZWAjMM8ufgWQtrOIXrHIPn9Swud the same key, another comment';
const HUGE = 'x'.repeat(200_000);

type Issue = { path: string; message: string };

/** Reads as a sentence a person can act on: not zod's own text, and no "field: " prefix to parse back. */
function assertSentence(text: string, label: string) {
  assert.match(text, /^["A-Z].*[.!?]$/s, `${label}: "${text}" reads as a sentence`);
  assert.doesNotMatch(text, /Too (small|big)|Invalid (input|option|string|UUID|email)|expected \S+, received|^[\w.]+: /, `${label}: "${text}" is plain words`);
}

/** Refused with `code`, and `data.issues` names exactly `field`; the message says what is wrong, as a sentence. */
async function expectFieldError(call: () => Promise<unknown>, field: string, label: string, code = 'BAD_REQUEST') {
  const err = await call().then(
    () => assert.fail(`${label}: accepted`),
    (e: unknown) => e,
  );
  assert.ok(err instanceof TRPCClientError, `${label}: ${String(err)}`);
  assert.equal(err.data?.code, code, `${label}: ${err.message}`);
  const issues = (err.data?.issues ?? []) as Issue[];
  assert.deepEqual([...new Set(issues.map((i) => i.path))], [field], `${label}: names exactly ${field}, got ${JSON.stringify(issues)}`);
  for (const text of [err.message, ...issues.map((i) => i.message)]) assertSentence(text, label);
}

const expectBadRequest = (call: () => Promise<unknown>, field: string, label: string) => expectFieldError(call, field, label);

describe('bad input', () => {
  let tls: TestTls;
  let database: Awaited<ReturnType<typeof createTestDatabase>>;
  let hub: Hub;
  let spoke: SpokeHandle;
  let capsulId: string;
  let operationId: string;
  let member: Session;

  const spokeClient = () =>
    createTRPCClient<SpokeRouter>({
      links: [httpLink({ url: `${spoke.url}/trpc`, transformer: superjson, fetch: httpsFetch({ ca: readFileSync(tls.caFile) }), headers: { authorization: `Bearer ${spoke.hubToken}` } })],
    });
  const asHost = () =>
    createHubClient({ hubUrl: hub.url, hostId: spoke.hostId, hostToken: spoke.hostToken, fetch: httpsFetch({ ca: readFileSync(tls.caFile) }), timeoutMs: 10_000 });

  async function snapshot() {
    return {
      operations: (await hub.admin.operation.list.query({ limit: 500 })).map((o) => [o.id, o.state, o.updatedAt.getTime()]),
      capsuls: await Promise.all(
        (await hub.admin.capsul.list.query({ includeDeleted: true })).map(async (c) => {
          const full = await hub.admin.capsul.byId.query({ id: c.id });
          return [c.id, c.state, full.updatedAt.getTime()];
        }),
      ),
      hosts: (await hub.admin.host.list.query()).map((h) => [h.id, h.httpsUrl]),
      onSpoke: (await spokeClient().list.query()).capsuls,
      memberKeys: member ? (await member.client.sshKey.list.query()).map((k) => [k.id, k.name, k.content]) : [],
    };
  }

  before(async () => {
    tls = await makeTestTls();
    database = await createTestDatabase();
    hub = await startHubProcess({ databaseUrl: database.url, tls });
    spoke = await startSpokeProcess({ hub, hostId: 'spoke-a', tls });
    await allOnline(hub, ['spoke-a']);
    const created = await hub.admin.capsul.create.mutate({ owner: 'input@example.com', image: 'debian-12', size: 'nano' });
    capsulId = created.capsulId;
    operationId = created.operationId;
    await until('running', async () => (await hub.admin.capsul.byId.query({ id: capsulId })).state === 'running');
    member = await signIn(hub, tls, 'member@example.com');
    await member.client.sshKey.add.mutate({ name: 'laptop', content: KEY });
  });

  after(async () => {
    await spoke?.proc.stop();
    await hub?.proc.stop();
    await database?.drop();
  });

  test('spoke procedures', async () => {
    // eslint-disable-next-line @typescript-eslint/no-explicit-any -- inputs malformed on purpose
    const s = spokeClient() as any;
    const before = await snapshot();
    const create = { operationId: crypto.randomUUID(), id: 'capsul-abcdefghij', vcpus: 1, memoryMb: 512, diskGb: 10, image: 'debian-12', imageFiles: { disk: 'debian.qcow2' }, sshAuthorizedKeys: [KEY] };
    const cases: [string, () => Promise<unknown>, string][] = [
      ['create: capsul id', () => s.create.mutate({ ...create, id: 'capsul-ABC; reboot' }), 'id'],
      ['create: negative memory', () => s.create.mutate({ ...create, memoryMb: -512 }), 'memoryMb'],
      ['create: fractional vcpus', () => s.create.mutate({ ...create, vcpus: 1.5 }), 'vcpus'],
      ['create: shell metacharacter in the image', () => s.create.mutate({ ...create, image: 'debian;rm -rf /' }), 'image'],
      ['create: path in a file name', () => s.create.mutate({ ...create, imageFiles: { disk: '../../etc/shadow' } }), 'imageFiles.disk'],
      ['create: command substitution in a cmdline', () => s.create.mutate({ ...create, imageFiles: { disk: 'a.qcow2', cmdline: 'console=ttyS0\n$(reboot)' } }), 'imageFiles.cmdline'],
      ['create: oversized key', () => s.create.mutate({ ...create, sshAuthorizedKeys: [HUGE] }), 'sshAuthorizedKeys.0'],
      ['create: not a key', () => s.create.mutate({ ...create, sshAuthorizedKeys: ['ssh-rsa AAAAB3Nza hello'] }), 'sshAuthorizedKeys.0'],
      ['create: operation id', () => s.create.mutate({ ...create, operationId: 'op-1' }), 'operationId'],
      ['capacityAvailable: negative disk', () => s.capacityAvailable.query({ memoryMb: 512, diskGb: -1 }), 'diskGb'],
      ['capacityAvailable: memory as text', () => s.capacityAvailable.query({ memoryMb: 'lots', diskGb: 1 }), 'memoryMb'],
      ['get: oversized id', () => s.get.query({ id: HUGE.slice(0, 5000) }), 'id'],
      ['vmState: command', () => s.vmState.mutate({ id: capsulId, command: 'reboot; rm -rf /' }), 'command'],
      ['vmState: id', () => s.vmState.mutate({ id: '$(reboot)', command: 'stop' }), 'id'],
      ['destroy: traversal', () => s.destroy.mutate({ id: 'capsul-../../etc' }), 'id'],
    ];
    for (const [label, call, field] of cases) await expectBadRequest(call, field, label);
    assert.deepEqual(await snapshot(), before, 'nothing changed');
  });

  test('hub procedures, operator and spoke-facing', async () => {
    /* eslint-disable @typescript-eslint/no-explicit-any -- inputs malformed on purpose */
    const admin = hub.admin as any;
    const host = asHost() as any;
    /* eslint-enable @typescript-eslint/no-explicit-any */
    const before = await snapshot();
    const create = { owner: 'input@example.com', image: 'debian-12', size: 'nano', sshAuthorizedKeys: [KEY] };
    const cases: [string, () => Promise<unknown>, string][] = [
      ['capsul.create: owner', () => admin.capsul.create.mutate({ ...create, owner: 'not an email' }), 'owner'],
      ['capsul.create: negative memory', () => admin.capsul.create.mutate({ ...create, size: undefined, vcpus: 1, memoryMb: -1, diskGb: 1 }), 'memoryMb'],
      ['capsul.create: shell metacharacter in the image', () => admin.capsul.create.mutate({ ...create, image: 'deb`id`' }), 'image'],
      ['capsul.create: oversized size', () => admin.capsul.create.mutate({ ...create, size: HUGE.slice(0, 1000) }), 'size'],
      ['capsul.create: a key with a bad body', () => admin.capsul.create.mutate({ ...create, sshAuthorizedKeys: ['ssh-ed25519 AAAAB3NzaC1yc2E= x'] }), 'sshAuthorizedKeys.0'],
      ['capsul.create: no size at all', () => admin.capsul.create.mutate({ ...create, size: undefined }), 'size'],
      ['capsul.create: unknown size', () => admin.capsul.create.mutate({ ...create, size: 'huge' }), 'size'],
      ['capsul.setState: command', () => admin.capsul.setState.mutate({ id: capsulId, command: 'halt' }), 'command'],
      ['capsul.destroy: id', () => admin.capsul.destroy.mutate({ id: '; rm -rf /' }), 'id'],
      ['capsul.get: id', () => admin.capsul.refresh.mutate({ id: 'capsul-1' }), 'id'],
      ['host.add: id', () => admin.host.add.mutate({ id: 'bad id;', httpsUrl: 'https://127.0.0.1:9' }), 'id'],
      ['host.add: oversized URL', () => admin.host.add.mutate({ id: 'ok', httpsUrl: `https://a${HUGE.slice(0, 5000)}.example` }), 'httpsUrl'],
      ['host.add: not https', () => admin.host.add.mutate({ id: 'ok', httpsUrl: 'ftp://127.0.0.1' }), 'httpsUrl'],
      ['host.remove: id', () => admin.host.remove.mutate({ id: '../x' }), 'id'],
      ['fleet.capacity: negative memory', () => admin.fleet.capacity.mutate({ memoryMb: -1, diskGb: 1 }), 'memoryMb'],
      ['operation.list: limit', () => admin.operation.list.query({ limit: 1_000_000 }), 'limit'],
      ['spoke.heartbeat: driver', () => host.spoke.heartbeat.mutate({ driver: 'xen' }), 'driver'],
      ['spoke.claimOperation: id', () => host.spoke.claimOperation.mutate({ operationId: 'nope' }), 'operationId'],
      ['spoke.completeOperation: state', () => host.spoke.completeOperation.mutate({ operationId, result: { ok: true, state: 'exploded' } }), 'result.state'],
      ['spoke.completeOperation: address', () => host.spoke.completeOperation.mutate({ operationId, result: { ok: true, state: 'running', ipv4: '999.1.1.1' } }), 'result.ipv4'],
      ['spoke.completeOperation: oversized error', () => host.spoke.completeOperation.mutate({ operationId, result: { ok: false, error: HUGE } }), 'result.error'],
    ];
    for (const [label, call, field] of cases) await expectBadRequest(call, field, label);
    assert.deepEqual(await snapshot(), before, 'nothing changed');
  });

  test('what the console sends: each bad field is named in data, once, in plain words', async () => {
    /* eslint-disable @typescript-eslint/no-explicit-any -- inputs malformed on purpose */
    const alice = member.client as any;
    const admin = hub.admin as any;
    /* eslint-enable @typescript-eslint/no-explicit-any */
    const before = await snapshot();
    const create = { image: 'debian-12', size: 'nano', sshKeyIds: [] };
    const cases: [string, () => Promise<unknown>, string, string?][] = [
      // the sign-in form
      ['auth.requestLink: not an email', () => alice.auth.requestLink.mutate({ email: 'not an email' }), 'email'],
      ['auth.requestLink: too long', () => alice.auth.requestLink.mutate({ email: `${'a'.repeat(250)}@example.com` }), 'email'],
      // the keys form
      ['sshKey.add: no name', () => alice.sshKey.add.mutate({ name: ' ', content: KEY }), 'name'],
      ['sshKey.add: a long name', () => alice.sshKey.add.mutate({ name: 'n'.repeat(65), content: KEY }), 'name'],
      ['sshKey.add: a slash in the name', () => alice.sshKey.add.mutate({ name: 'a/b', content: KEY }), 'name'],
      ['sshKey.add: not a key', () => alice.sshKey.add.mutate({ name: 'other', content: 'ssh-rsa not-a-key' }), 'content'],
      ['sshKey.add: two keys', () => alice.sshKey.add.mutate({ name: 'other', content: `${KEY}\n${KEY}` }), 'content'],
      ['sshKey.add: a name in use', () => alice.sshKey.add.mutate({ name: 'laptop', content: KEY_AGAIN }), 'name', 'CONFLICT'],
      ['sshKey.add: a key added already, with another comment', () => alice.sshKey.add.mutate({ name: 'other', content: KEY_AGAIN }), 'content', 'CONFLICT'],
      // the create form
      ['capsul.create: no size', () => alice.capsul.create.mutate({ ...create, size: undefined }), 'size'],
      ['capsul.create: a size not offered', () => alice.capsul.create.mutate({ ...create, size: 'huge' }), 'size'],
      ['capsul.create: an image not offered', () => alice.capsul.create.mutate({ ...create, image: 'plan9' }), 'image'],
      ['capsul.create: no image', () => alice.capsul.create.mutate({ ...create, image: '' }), 'image'],
      ['capsul.create: a key that is not hers', () => alice.capsul.create.mutate({ ...create, sshKeyIds: [crypto.randomUUID()] }), 'sshKeyIds'],
      ['capsul.create: a key id that is no id', () => alice.capsul.create.mutate({ ...create, sshKeyIds: ['k1'] }), 'sshKeyIds.0'],
      ['capsul.create: a member choosing vCPUs', () => alice.capsul.create.mutate({ ...create, vcpus: 64 }), 'vcpus', 'FORBIDDEN'],
      ['capsul.create: a member choosing the owner', () => alice.capsul.create.mutate({ ...create, owner: 'bob@example.com' }), 'owner', 'FORBIDDEN'],
      // the admin's hosts form and operations filter
      ['host.add: an id with capitals', () => admin.host.add.mutate({ id: 'Bad Id;', httpsUrl: 'https://127.0.0.1:9' }), 'id'],
      ['host.add: plain http', () => admin.host.add.mutate({ id: 'ok', httpsUrl: 'http://127.0.0.1:9' }), 'httpsUrl'],
      ['host.add: not a URL', () => admin.host.add.mutate({ id: 'ok', httpsUrl: 'somewhere' }), 'httpsUrl'],
      ['host.add: an id in use', () => admin.host.add.mutate({ id: 'spoke-a', httpsUrl: 'https://127.0.0.1:9' }), 'id', 'CONFLICT'],
      ['host.add: a URL in use', () => admin.host.add.mutate({ id: 'ok', httpsUrl: spoke.url }), 'httpsUrl', 'CONFLICT'],
      ['host.update: a URL with a query', () => admin.host.update.mutate({ id: 'spoke-a', httpsUrl: 'https://127.0.0.1:9/?x=1' }), 'httpsUrl'],
      ['operation.list: host', () => admin.operation.list.query({ hostId: 'no such host!' }), 'hostId'],
      ['operation.list: capsul', () => admin.operation.list.query({ capsulId: 'nope' }), 'capsulId'],
    ];
    for (const [label, call, field, code] of cases) await expectFieldError(call, field, label, code);
    assert.deepEqual(await snapshot(), before, 'nothing changed');
  });

  test('the same key again, under another comment, is refused naming the key it repeats; keys are listed as ssh-keygen -l shows them', async () => {
    const err = await member.client.sshKey.add.mutate({ name: 'desktop', content: KEY_AGAIN }).then(
      () => assert.fail('accepted'),
      (e: unknown) => e as TRPCClientError<HubRouter>,
    );
    assert.equal(err.data?.code, 'CONFLICT');
    assert.equal(err.message, 'This key is already added, as "laptop".');
    const keys = await member.client.sshKey.list.query();
    assert.deepEqual(keys.map((k) => k.name), ['laptop']);
    // ssh-keygen -lf of KEY's line prints this.
    assert.equal(keys[0]!.summary, '256 SHA256:B52nXbBaiuU4Va2CQ4hPky6qs7tXNPCrTmV9m8cNtvM ok@capsul (ED25519)');
  });
});
