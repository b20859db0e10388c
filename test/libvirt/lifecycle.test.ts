// The libvirt driver on real libvirtd + QEMU (TCG), driven through the hub and the spoke's tRPC API over
// HTTPS, with a guest that really boots, takes a DHCP lease and shows the SSH keys it was given.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { readdir, rm, writeFile } from 'node:fs/promises';
import { after, before, describe, test } from 'node:test';
import { createTRPCClient, httpLink, TRPCClientError } from '@trpc/client';
import pg from 'pg';
import superjson from 'superjson';
import { httpsFetch } from '~/lib/https-fetch';
import type { SpokeRouter } from '~/spoke/router';
import { createTestDatabase } from '../support/postgres';
import { allOnline, startHubProcess, startSpokeProcess, until, type Hub, type SpokeHandle } from '../support/processes';
import { virshRunner } from '~/spoke/hypervisor/libvirt/commands';
import { libvirtConfig, LibvirtHypervisor } from '~/spoke/hypervisor/libvirt/driver';
import { TEST_GUEST } from '../../scripts/build-test-guest';
import { parseEnv } from '~/env';
import { log } from '~/lib/log';
import { disksDir, domainState, requireLibvirt, startLibvirtd, stopLibvirtd, testGuestImages, virsh } from '../support/libvirt';
import { makeTestTls, type TestTls } from '../support/tls';

const KEYS = [
  'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGvatMdwSOLaKEdOnZWAjMM8ufgWQtrOIXrHIPn9Swud alice@laptop',
  'ecdsa-sha2-nistp256 AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAABBBJmi2H7ASepTfnzqchSd3ntAkoVMs22lJSfSDq3FhJ2NaF0rdnY+ZGMYTBFcFZx2TxWYNQJB1NXQSRNQFkfZuIM= bob "the builder"',
];
const GUEST = { vcpus: 1, memoryMb: 128, diskGb: 1 };

async function fromGuest(ipv4: string, file: string): Promise<string> {
  const res = await fetch(`http://${ipv4}/${file}`, { signal: AbortSignal.timeout(3000) });
  assert.equal(res.status, 200, `GET /${file} from the guest`);
  return res.text();
}

describe('libvirt driver, real guests', () => {
  let tls: TestTls;
  let database: Awaited<ReturnType<typeof createTestDatabase>>;
  let hub: Hub;
  let spoke: SpokeHandle;
  let disks: string;

  before(async () => {
    await requireLibvirt();
    const images = await testGuestImages();
    disks = await disksDir('lifecycle');
    tls = await makeTestTls();
    database = await createTestDatabase();
    hub = await startHubProcess({ databaseUrl: database.url, tls, env: { SPOKE_CALL_TIMEOUT_MS: '20000' } });
    spoke = await startSpokeProcess({
      hub,
      hostId: 'kvm-1',
      tls,
      env: {
        SPOKE_DRIVER: 'libvirt',
        LIBVIRT_DOMAIN_TYPE: 'qemu',
        SPOKE_IMAGES_DIR: images.dir,
        SPOKE_DISKS_DIR: disks,
        SPOKE_MEMORY_RESERVE_MB: '512',
        SPOKE_READY_TIMEOUT_MS: '150000',
        METRICS_TOKEN: 'm'.repeat(40),
        USAGE_SAMPLE_PERIOD_MS: '2000',
      },
    });
    await allOnline(hub, ['kvm-1']);
    const { id, name, file, kernel, initrd, cmdline } = images.image;
    await hub.admin.image.upsert.mutate({ id, name, file, kernel, initrd, cmdline });
    await hub.admin.image.upsert.mutate({ id: 'missing-base', name: 'An image this host lacks', file: 'missing.qcow2' });
  });

  after(async () => {
    await spoke?.proc.stop();
    await hub?.proc.stop();
    await database?.drop();
    if (disks) await rm(disks, { recursive: true, force: true });
  });

  test('the host reports the libvirt driver', async () => {
    const [host] = await hub.admin.host.list.query();
    assert.equal(host!.driver, 'libvirt');
    assert.ok(spoke.proc.logs().includes('spoke driver: libvirt'));
  });

  test('create → running with an address → the guest shows its hostname and exactly the keys → stop, start, restart → destroy leaves nothing', async () => {
    const created = await hub.admin.capsul.create.mutate({ owner: 'vm@example.com', image: 'capsul-test-guest', ...GUEST, sshAuthorizedKeys: KEYS });
    assert.equal(created.hostId, 'kvm-1');
    const id = created.capsulId;

    const running = await until('the completion with an address', async () => {
      const c = await hub.admin.capsul.byId.query({ id });
      if (c.state === 'failed') throw new Error(`create failed: ${c.error}`);
      return c.state === 'running' && c;
    }, 180_000, 500);
    assert.match(running.ipv4 ?? '', /^192\.168\.122\.\d+$/);
    assert.equal(await domainState(id), 'running');

    const ipv4 = running.ipv4!;
    const guestUp = await until('the guest answering HTTP', () => fromGuest(ipv4, 'hostname').catch(() => undefined), 60_000, 500);
    assert.equal(guestUp.trim(), id);
    assert.deepEqual((await fromGuest(ipv4, 'keys')).trim().split('\n'), KEYS);
    assert.equal((await fromGuest(ipv4, 'marker')).trim(), `capsul-marker ${id} boot=1`);

    // Its usage history, through spoke and hub: a CPU loop in the guest shows as a busy point, and 1 MiB
    // fetched from it as traffic out of it.
    const history = () => hub.admin.usage.capsul.query({ capsulId: id, range: 'hour' });
    const pointsAfter = async (t: number) => {
      const s = await history();
      return s.at.flatMap((at, i) => (at * 1000 > t && s.values.cpuPercent[i] !== null ? [{ cpu: s.values.cpuPercent[i]! }] : []));
    };
    const burnAt = Date.now();
    assert.match(await fromGuest(ipv4, 'cgi-bin/burn?20'), /burning 20 s/);
    const busy = await until('a busy point in the capsul\'s history', async () => (await pointsAfter(burnAt)).find((p) => p.cpu > 50), 60_000, 500);
    assert.ok(busy.cpu <= 100, `cpu ${busy.cpu} %`);
    const fetchedAt = Date.now();
    assert.equal((await fromGuest(ipv4, 'bulk')).length, 1024 * 1024);
    // The bytes are each point's rate times the seconds it covers (a loaded spoke's intervals can be longer
    // than its period), as the hub stored them.
    const sql = new pg.Client({ connectionString: database.url });
    await sql.connect();
    const outSince = async (t: number) =>
      (await sql.query(`SELECT coalesce(sum("netOutBps" * seconds), 0)::float8 AS bytes FROM "CapsulUsage" WHERE "capsulId" = $1 AND step = 0 AND at > $2`, [id, new Date(t)])).rows[0].bytes as number;
    await until('1 MiB out of the guest in its history', async () => (await outSince(fetchedAt)) >= 0.9 * 1024 * 1024, 60_000, 500).finally(() => sql.end());
    assert.equal((await history()).simulated, false, 'a libvirt host: real numbers');

    // The files the capsul is made of.
    const files = (await readdir(disks)).filter((f) => f.startsWith(id)).sort();
    assert.deepEqual(files, [`${id}-seed.iso`, `${id}.console.log`, `${id}.console.sock`, `${id}.qcow2`, `${id}.xml`]);

    // stop (ACPI): the spoke answers stopped or shutting_down; libvirt soon says shut off.
    const stop = await hub.admin.capsul.setState.mutate({ id, command: 'stop' });
    assert.ok(['stopped', 'shutting_down'].includes(stop.state));
    await until('shut off', async () => (await domainState(id)) === 'shut off', 60_000, 250);
    assert.equal((await hub.admin.capsul.refresh.mutate({ id })).onHost?.state, 'stopped');

    const start = await hub.admin.capsul.setState.mutate({ id, command: 'start' });
    assert.equal(start.state, 'running');
    assert.equal(await domainState(id), 'running');
    await until('boot 2', async () => (await fromGuest(ipv4, 'boot').catch(() => '')).trim() === '2', 120_000, 500);

    const restart = await hub.admin.capsul.setState.mutate({ id, command: 'restart' });
    assert.equal(restart.state, 'running');
    await until('boot 3 after the restart', async () => (await fromGuest(ipv4, 'boot').catch(() => '')).trim() === '3', 120_000, 500);
    assert.equal(await domainState(id), 'running');
    const got = await hub.admin.capsul.refresh.mutate({ id });
    assert.equal(got.onHost?.state, 'running');
    assert.equal(got.onHost?.ipv4, ipv4);

    const forced = await hub.admin.capsul.setState.mutate({ id, command: 'forceStop' });
    assert.equal(forced.state, 'stopped');
    assert.equal(await domainState(id), 'shut off');

    await hub.admin.capsul.destroy.mutate({ id });
    assert.equal(await domainState(id), null, 'no domain');
    // Every virsh and qemu-img call is timed on the spoke's /metrics.
    const metrics = await (await httpsFetch({ ca: readFileSync(tls.caFile) })(`${spoke.url}/metrics`, { headers: { authorization: `Bearer ${'m'.repeat(40)}` } })).text();
    for (const command of ['define', 'start', 'domifaddr', 'destroy', 'undefine']) {
      assert.match(metrics, new RegExp(`^capsul_spoke_command_seconds_count\\{binary="virsh",command="${command}"\\} [1-9]\\d*$`, 'm'), command);
    }
    assert.match(metrics, /^capsul_spoke_command_seconds_count\{binary="qemu-img",command="create"\} [1-9]/m);
    assert.deepEqual((await readdir(disks)).filter((f) => f.startsWith(id)), [], 'no overlay, no seed, no XML, no console socket or log');
  });

  test('changes through the hub and the spoke: a snapshot of the running guest, a mark, a revert (the mark gone), a resize the guest sees, a rebuild with other keys at the same address', async () => {
    // Sizes a little larger than the guest, in the catalog (there is no admin call for sizes: they are seeded).
    const sql = new pg.Client({ connectionString: database.url });
    await sql.connect();
    await sql.query(`INSERT INTO "VmSize" (id, name, vcpus, "memoryMb", "diskGb", "sortOrder") VALUES ('guest', 'Guest', 1, 128, 1, 1), ('guest-plus', 'Guest+', 2, 192, 2, 2)`);
    await sql.end();
    const created = await hub.admin.capsul.create.mutate({ owner: 'changes@example.com', image: 'capsul-test-guest', size: 'guest', sshAuthorizedKeys: KEYS });
    const id = created.capsulId;
    const ended = (operationId: string) =>
      until(`operation ${operationId} ended`, async () => {
        const op = await hub.admin.operation.byId.query({ id: operationId });
        if (op.state === 'failed') throw new Error(`${op.action} failed: ${op.error}`);
        return op.state === 'completed' && op;
      }, 240_000, 500);
    const ipv4 = (await until('running', async () => {
      const c = await hub.admin.capsul.byId.query({ id });
      if (c.state === 'failed') throw new Error(`create failed: ${c.error}`);
      return c.state === 'running' && c.ipv4;
    }, 180_000, 500))!;
    const answering = (file: string) => until(`the guest answering /${file}`, () => fromGuest(ipv4, file).catch(() => undefined), 120_000, 500);
    await answering('hostname');

    const snap = await hub.admin.snapshot.create.mutate({ capsulId: id, name: 'clean' });
    const taken = await ended(snap.operationId);
    const result = taken.hostOperations[0]!.result as { pausedMs?: number; snapshots?: { id: string; bytes: number }[] };
    assert.ok((result.pausedMs ?? 0) > 0, 'the guest was paused for the snapshot, and the spoke says how long');
    assert.deepEqual(result.snapshots?.map((s) => s.id), [snap.snapshotId]);
    assert.equal((await fromGuest(ipv4, 'cgi-bin/mark?after-clean')).trim(), 'capsul-usermark after-clean');
    await ended((await hub.admin.snapshot.revert.mutate({ capsulId: id, snapshotId: snap.snapshotId })).operationId);
    await until('the guest back after the revert', async () => (await fromGuest(ipv4, 'cgi-bin/usermark').catch(() => 'x')).trim() === '', 120_000, 500);
    assert.equal((await hub.admin.capsul.byId.query({ id })).state, 'running');

    const memBefore = Number((await fromGuest(ipv4, 'memtotal')).trim());
    await ended((await hub.admin.capsul.resize.mutate({ id, size: 'guest-plus' })).operationId);
    const sectors = await until('the guest seeing its grown disk', async () => (await fromGuest(ipv4, 'vda-sectors').catch(() => '')).trim() === String((2 * 1024 ** 3) / 512) || undefined, 120_000, 500);
    assert.ok(sectors);
    assert.ok(Number((await fromGuest(ipv4, 'memtotal')).trim()) >= memBefore + 48 * 1024, 'the guest has the memory');
    assert.equal((await fromGuest(ipv4, 'nproc')).trim(), '2', 'and the vCPUs');
    assert.match(String((await virsh('dumpxml', '--inactive', id)).stdout), /<capsul:diskGb>2<\/capsul:diskGb>/, 'the host keeps what it promised');
    const resized = await hub.admin.capsul.byId.query({ id });
    assert.deepEqual([resized.vcpus, resized.memoryMb, resized.diskGb, resized.sizeId], [2, 192, 2, 'guest-plus']);

    await fromGuest(ipv4, 'cgi-bin/mark?before-rebuild');
    const rebuilt = await hub.admin.capsul.rebuild.mutate({ id, image: 'capsul-test-guest', sshAuthorizedKeys: [KEYS[1]!], confirm: resized.name });
    await ended(rebuilt.operationId);
    await until('the rebuilt guest with only the new key', async () => (await fromGuest(ipv4, 'keys').catch(() => '')).trim() === KEYS[1], 120_000, 500);
    assert.equal((await fromGuest(ipv4, 'cgi-bin/usermark')).trim(), '', 'nothing of the old disk');
    assert.equal((await hub.admin.capsul.byId.query({ id })).ipv4, ipv4, 'the same address');
    assert.deepEqual((await hub.admin.snapshot.list.query({ capsulId: id })).snapshots, []);
    assert.deepEqual((await readdir(disks)).filter((f) => f.startsWith(id) && f.endsWith('.qcow2')), [`${id}.qcow2`], 'one fresh layer, no snapshot layers');
    await hub.admin.capsul.destroy.mutate({ id });
    assert.deepEqual((await readdir(disks)).filter((f) => f.startsWith(id)), [], 'no layer, seed or log left');
  });

  test('two capsuls created at once both boot and get their own address', async () => {
    const both = await Promise.all(
      [0, 1].map(() => hub.admin.capsul.create.mutate({ owner: 'pair@example.com', image: 'capsul-test-guest', ...GUEST, sshAuthorizedKeys: [KEYS[0]!] })),
    );
    const running = await Promise.all(
      both.map((c) =>
        until(`${c.capsulId} running`, async () => {
          const row = await hub.admin.capsul.byId.query({ id: c.capsulId });
          if (row.state === 'failed') throw new Error(`create failed: ${row.error}`);
          return row.state === 'running' && row;
        }, 180_000, 500),
      ),
    );
    assert.notEqual(running[0]!.ipv4, running[1]!.ipv4);
    for (const c of running) {
      const name = await until('guest HTTP', () => fromGuest(c.ipv4!, 'hostname').catch(() => undefined), 60_000, 500);
      assert.equal(name.trim(), c.id);
    }
    for (const c of both) await hub.admin.capsul.destroy.mutate({ id: c.capsulId });
    assert.deepEqual(await readdir(disks), []);
  });

  test('an image whose base file the host lacks: not_applicable with the reason, nothing made', async () => {
    const err = await hub.admin.capsul.create.mutate({ owner: 'vm@example.com', image: 'missing-base', ...GUEST }).then(
      () => assert.fail('should fail'),
      (e: unknown) => e,
    );
    assert.ok(err instanceof TRPCClientError);
    assert.equal(err.data?.code, 'PRECONDITION_FAILED');
    assert.deepEqual(err.data?.hosts, [{ hostId: 'kvm-1', status: 'not_applicable', reason: `image missing-base: missing.qcow2 is not in /var/tmp/capsul-test-images on this host` }]);
    assert.deepEqual(await readdir(disks), []);
  });

  test('a disk too big for the free space: not_applicable, nothing made', async () => {
    const err = await hub.admin.capsul.create.mutate({ owner: 'vm@example.com', image: 'capsul-test-guest', vcpus: 1, memoryMb: 128, diskGb: 60_000 }).then(
      () => assert.fail('should fail'),
      (e: unknown) => e,
    );
    assert.ok(err instanceof TRPCClientError);
    const [host] = err.data?.hosts as { status: string; reason: string }[];
    assert.equal(host!.status, 'not_applicable');
    assert.match(host!.reason, /not enough room: needs 128 MiB memory and 60000 GiB disk, has \d+ MiB and \d+ GiB free/);
    assert.deepEqual(await readdir(disks), []);
    const domains = await virsh('list', '--all', '--name');
    assert.ok(!String(domains.stdout).includes('capsul-'), 'no domain defined');
  });

  test('a domain name that already exists: the create is refused and the existing domain is untouched', async () => {
    const id = 'capsul-existing00';
    const xml = `<domain type="qemu"><name>${id}</name><memory unit="MiB">64</memory><os><type arch="x86_64">hvm</type></os></domain>`;
    await writeFile(`${disks}/../capsul-existing.xml`, xml);
    assert.equal((await virsh('define', `${disks}/../capsul-existing.xml`)).exitCode, 0);
    try {
      // Offered directly through the spoke's API, as the hub would offer it.
      const client = createTRPCClient<SpokeRouter>({
        links: [httpLink({ url: `${spoke.url}/trpc`, transformer: superjson, fetch: httpsFetch({ ca: readFileSync(tls.caFile) }), headers: { authorization: `Bearer ${spoke.hubToken}` } })],
      });
      const answer = await client.create.mutate({
        operationId: crypto.randomUUID(), id, ...GUEST, image: 'capsul-test-guest',
        imageFiles: { disk: 'capsul-test-guest.qcow2' }, sshAuthorizedKeys: [],
      });
      assert.deepEqual(answer, { assignmentStatus: 'not_applicable', reason: `a domain named ${id} already exists on this host` });
      assert.equal(await domainState(id), 'shut off', 'still defined, untouched');
      assert.deepEqual(await readdir(disks), []);
    } finally {
      await virsh('undefine', id);
      await rm(`${disks}/../capsul-existing.xml`, { force: true });
    }
  });

  // Last: it stops the real libvirtd, and starts it again.
  test('libvirtd stopped: a clear error, and no files left behind', async () => {
    await stopLibvirtd();
    try {
      // Through the hub: the spoke cannot even ask libvirt whether the name is free, and says so.
      const err = await hub.admin.capsul.create.mutate({ owner: 'vm@example.com', image: 'capsul-test-guest', ...GUEST }).then(
        () => assert.fail('should fail'),
        (e: unknown) => e,
      );
      assert.ok(err instanceof TRPCClientError);
      const [host] = err.data?.hosts as { status: string; reason: string }[];
      assert.equal(host!.status, 'error_response_from_host');
      assert.match(host!.reason, /virsh domstate: failed to connect to the hypervisor/);
      assert.deepEqual(await readdir(disks), []);

      // The driver itself, past that check: the disk and seed are made, define fails, all of it is removed.
      const images = await testGuestImages();
      const env = parseEnv({ SPOKE_IMAGES_DIR: images.dir, SPOKE_DISKS_DIR: disks, LIBVIRT_DOMAIN_TYPE: 'qemu' } as unknown as NodeJS.ProcessEnv);
      const driver = new LibvirtHypervisor(libvirtConfig(env), virshRunner(env.LIBVIRT_URI), log);
      await assert.rejects(
        driver.create({
          operationId: crypto.randomUUID(), id: 'capsul-nolibvirt0', ...GUEST, image: TEST_GUEST.id,
          imageFiles: { disk: TEST_GUEST.file, kernel: TEST_GUEST.kernel, initrd: TEST_GUEST.initrd, cmdline: TEST_GUEST.cmdline },
          sshAuthorizedKeys: [],
        }, log),
        /^HypervisorError: define the domain: virsh define: failed to connect to the hypervisor/,
      );
      assert.deepEqual(await readdir(disks), [], 'no overlay, seed or XML left');
    } finally {
      await startLibvirtd();
    }
  });
});
