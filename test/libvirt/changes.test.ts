// Changes to real capsuls (libvirt + QEMU under TCG, the test guest), through the libvirt driver itself:
// resize, snapshots (running and stopped: create, revert, delete), rebuild, recovery of an interrupted
// snapshot, and destroy with snapshot layers. The guest shows what it sees over HTTP (its memory, disk size,
// keys) and keeps a mark on its disk (sector 2048) that tells which disk a revert or rebuild left.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readdir, readFile, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test, type TestContext } from 'node:test';
import { execa } from 'execa';
import type { CapsulChange } from '~/contract/change';
import type { CreateInput } from '~/contract/spoke';
import { parseEnv } from '~/env';
import { log } from '~/lib/log';
import { virshRunner } from '~/spoke/hypervisor/libvirt/commands';
import { libvirtConfig, LibvirtHypervisor } from '~/spoke/hypervisor/libvirt/driver';
import { diskSource } from '~/spoke/hypervisor/libvirt/parse';
import { TEST_GUEST } from '../../scripts/build-test-guest';
import { disksDir, domainState, requireLibvirt, testGuestImages, virsh } from '../support/libvirt';
import { until } from '../support/processes';

const KEYS = [
  'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGvatMdwSOLaKEdOnZWAjMM8ufgWQtrOIXrHIPn9Swud alice@laptop',
  'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHbTqy0n8D2nSAxxs6NT/1Kq+WN5iq7MsVfmFZ0oVM9b carol@desk',
];
const LONG = { timeout: 900_000 };
const IMAGE_FILES = { disk: TEST_GUEST.file, kernel: TEST_GUEST.kernel, initrd: TEST_GUEST.initrd, cmdline: TEST_GUEST.cmdline };

const random = (n: number) => Array.from(crypto.getRandomValues(new Uint8Array(n)), (b) => 'abcdefghijklmnopqrstuvwxyz0123456789'[b % 36]).join('');
const newCapsulId = (prefix: string) => `capsul-${prefix}${random(10 - prefix.length)}`;
const newSnapshotId = () => `snap-${random(10)}`;

async function fromGuest(ipv4: string, file: string): Promise<string> {
  const res = await fetch(`http://${ipv4}/${file}`, { signal: AbortSignal.timeout(5000) });
  assert.equal(res.status, 200, `GET /${file} from the guest`);
  return (await res.text()).trim();
}
/** Waits for the guest's web server (after a boot), and returns its boot count. */
const guestUp = (ipv4: string) => until(`the guest at ${ipv4} answering HTTP`, () => fromGuest(ipv4, 'boot').catch(() => undefined), 120_000, 500);
const mark = (ipv4: string, word: string) => fromGuest(ipv4, `cgi-bin/mark?${word}`);
const usermark = (ipv4: string) => fromGuest(ipv4, 'cgi-bin/usermark');

async function timed<T>(t: TestContext, what: string, work: () => Promise<T>): Promise<T> {
  const started = performance.now();
  const result = await work();
  t.diagnostic(`${what}: ${Math.round(performance.now() - started)} ms`);
  return result;
}

describe('changes to real capsuls (libvirt)', () => {
  let driver: LibvirtHypervisor;
  let disks: string;
  let images: Awaited<ReturnType<typeof testGuestImages>>;
  const made: string[] = [];

  const filesOf = async (id: string) => (await readdir(disks)).filter((f) => f.startsWith(id)).sort();
  const layersOf = async (id: string) => (await filesOf(id)).filter((f) => f.endsWith('.qcow2'));
  const baseFingerprint = async () => {
    const file = path.join(images.dir, TEST_GUEST.file);
    const s = await stat(file);
    return `${createHash('sha256').update(await readFile(file)).digest('hex')} ${s.size} ${s.mtimeMs}`;
  };
  const persistentDisk = async (id: string) => diskSource(String((await virsh('dumpxml', '--inactive', id)).stdout), 'vda');

  async function create(prefix: string, keys = [KEYS[0]!]) {
    const spec: CreateInput = {
      operationId: crypto.randomUUID(), id: newCapsulId(prefix), vcpus: 1, memoryMb: 128, diskGb: 1,
      image: TEST_GUEST.id, imageFiles: IMAGE_FILES, sshAuthorizedKeys: keys,
    };
    made.push(spec.id);
    const created = await driver.create(spec, log);
    assert.equal(created.state, 'running');
    assert.ok(created.ipv4, 'an address');
    assert.equal(await guestUp(created.ipv4), '1');
    return { id: spec.id, ipv4: created.ipv4 };
  }
  const apply = (id: string, change: CapsulChange, recovering: false | { wasRunning: boolean } = false) => driver.applyChange(id, change, log, recovering);

  async function destroyLeavesNothing(id: string) {
    await driver.destroy(id, log);
    assert.equal(await domainState(id), null);
    assert.deepEqual(await filesOf(id), [], 'no layer, seed, XML, console socket or log left');
  }

  before(async () => {
    await requireLibvirt();
    images = await testGuestImages();
    disks = await disksDir('changes');
    const env = parseEnv({ SPOKE_IMAGES_DIR: images.dir, SPOKE_DISKS_DIR: disks, LIBVIRT_DOMAIN_TYPE: 'qemu', SPOKE_READY_TIMEOUT_MS: '150000' } as unknown as NodeJS.ProcessEnv);
    driver = new LibvirtHypervisor(libvirtConfig(env), virshRunner(env.LIBVIRT_URI), log);
  });

  after(async () => {
    for (const id of made) await driver?.destroy(id, log).catch(() => {});
    if (disks) await rm(disks, { recursive: true, force: true });
  });

  test('snapshots of a running guest: create (paused briefly), revert, delete by blockcommit; the shared base is never written', LONG, async (t) => {
    const base = await baseFingerprint();
    const { id, ipv4 } = await create('snr');
    const [s1, s2] = [newSnapshotId(), newSnapshotId()];

    const taken = await timed(t, 'snapshot of a running guest', () => apply(id, { kind: 'snapshotCreate', snapshotId: s1 }));
    t.diagnostic(`paused for ${taken.pausedMs} ms`);
    assert.ok(taken.pausedMs! > 0, 'the pause is reported');
    assert.equal(taken.state, 'running');
    assert.deepEqual(taken.snapshots.map((s) => s.id), [s1]);
    assert.ok(taken.snapshots[0]!.bytes > 0);
    assert.equal(await persistentDisk(id), path.join(disks, `${id}.${s1}.qcow2`), 'the persistent definition writes on the new layer');
    assert.match(await driver.changeProblem(id, { kind: 'snapshotCreate', snapshotId: s1 }) ?? '', /already has a disk layer for snapshot/);

    assert.equal(await mark(ipv4, 'after-snap'), 'capsul-usermark after-snap');
    assert.equal(await usermark(ipv4), 'capsul-usermark after-snap');

    const reverted = await timed(t, 'revert of a running guest (destroy, new layer, start, address)', () => apply(id, { kind: 'snapshotRevert', snapshotId: s1 }));
    assert.equal(reverted.state, 'running');
    assert.equal(reverted.ipv4, ipv4);
    assert.deepEqual(reverted.snapshots.map((s) => s.id), [s1], 'the snapshot reverted to stays');
    await guestUp(ipv4);
    assert.equal(await usermark(ipv4), '', 'the mark written after the snapshot is gone');

    assert.equal(await mark(ipv4, 'before-snap2'), 'capsul-usermark before-snap2');
    await apply(id, { kind: 'snapshotCreate', snapshotId: s2 });
    assert.deepEqual((await driver.snapshots(id)).map((s) => s.id), [s1, s2]);
    await mark(ipv4, 'after-snap2');

    // s1's layer is not the active one: merged into L0 under the running guest.
    const deleted = await timed(t, 'delete of an older snapshot (blockcommit --top)', () => apply(id, { kind: 'snapshotDelete', snapshotId: s1 }));
    assert.deepEqual(deleted.snapshots.map((s) => s.id), [s2]);
    assert.equal(await usermark(ipv4), 'capsul-usermark after-snap2', 'the guest goes on as it was');
    assert.deepEqual(await layersOf(id), [`${id}.qcow2`, `${id}.${s2}.qcow2`]);
    assert.equal(await driver.changeProblem(id, { kind: 'snapshotRevert', snapshotId: s1 }), `capsul ${id} has no snapshot ${s1} on this host`);

    await apply(id, { kind: 'snapshotRevert', snapshotId: s2 });
    await guestUp(ipv4);
    assert.equal(await usermark(ipv4), 'capsul-usermark before-snap2', 'snapshot 2 survived the delete of snapshot 1');

    // s2's layer is now the active one: an active commit with a pivot onto L0.
    await mark(ipv4, 'final');
    const merged = await timed(t, 'delete of the newest snapshot (blockcommit --active --pivot)', () => apply(id, { kind: 'snapshotDelete', snapshotId: s2 }));
    assert.deepEqual(merged.snapshots, []);
    assert.deepEqual(await layersOf(id), [`${id}.qcow2`]);
    assert.equal(await persistentDisk(id), path.join(disks, `${id}.qcow2`), 'the persistent definition followed the pivot');
    assert.equal(await driver.setState(id, 'forceStop', log), 'stopped');
    assert.equal(await driver.setState(id, 'start', log), 'running');
    await guestUp(ipv4);
    assert.equal(await fromGuest(ipv4, 'usermark'), 'capsul-usermark final', 'the merged data is on L0 after a stop and start');

    await destroyLeavesNothing(id);
    assert.equal(await baseFingerprint(), base, 'the shared base image is unchanged');
  });

  test('snapshots of a stopped guest: create and delete with qemu-img (into the layer below, and with a layer above)', LONG, async (t) => {
    const base = await baseFingerprint();
    const { id, ipv4 } = await create('sns');
    const [s1, s2, s3] = [newSnapshotId(), newSnapshotId(), newSnapshotId()];
    await mark(ipv4, 'one');
    assert.equal(await driver.setState(id, 'forceStop', log), 'stopped');

    const taken = await timed(t, 'snapshot of a stopped guest', () => apply(id, { kind: 'snapshotCreate', snapshotId: s1 }));
    assert.equal(taken.state, 'stopped');
    assert.equal(taken.pausedMs, undefined);
    assert.deepEqual(taken.snapshots.map((s) => s.id), [s1]);
    assert.equal(await persistentDisk(id), path.join(disks, `${id}.${s1}.qcow2`));

    assert.equal(await driver.setState(id, 'start', log), 'running');
    await guestUp(ipv4);
    assert.equal(await fromGuest(ipv4, 'usermark'), 'capsul-usermark one');
    await mark(ipv4, 'two');
    assert.equal(await driver.setState(id, 'forceStop', log), 'stopped');

    // s1's layer is active: merged into L0, and the domain writes on L0 again.
    const deleted = await timed(t, 'delete of a stopped guest\'s snapshot (qemu-img commit)', () => apply(id, { kind: 'snapshotDelete', snapshotId: s1 }));
    assert.equal(deleted.state, 'stopped');
    assert.deepEqual(deleted.snapshots, []);
    assert.deepEqual(await layersOf(id), [`${id}.qcow2`]);
    assert.equal(await persistentDisk(id), path.join(disks, `${id}.qcow2`));

    // Two snapshots, the older deleted: its layer merged down, the newer one's layer rebased onto L0.
    await apply(id, { kind: 'snapshotCreate', snapshotId: s2 });
    await apply(id, { kind: 'snapshotCreate', snapshotId: s3 });
    assert.deepEqual((await driver.snapshots(id)).map((s) => s.id), [s2, s3]);
    const rebased = await apply(id, { kind: 'snapshotDelete', snapshotId: s2 });
    assert.deepEqual(rebased.snapshots.map((s) => s.id), [s3]);
    assert.deepEqual(await layersOf(id), [`${id}.qcow2`, `${id}.${s3}.qcow2`]);
    const reverted = await apply(id, { kind: 'snapshotRevert', snapshotId: s3 });
    assert.equal(reverted.state, 'stopped', 'a stopped capsul stays stopped');

    assert.equal(await driver.setState(id, 'start', log), 'running');
    await guestUp(ipv4);
    assert.equal(await fromGuest(ipv4, 'usermark'), 'capsul-usermark two', 'what was written before the snapshots is all there');
    await destroyLeavesNothing(id);
    assert.equal(await baseFingerprint(), base, 'the shared base image is unchanged');
  });

  test('recovering an interrupted snapshot of a running guest (resumed; the unfinished layer removed, or the snapshot kept) and an interrupted delete (pivoted); destroy removes every layer', LONG, async () => {
    const { id, ipv4 } = await create('rcv');
    // Refused before anything starts (the hub refuses it too; resize and rebuild of a real guest: lifecycle.test.ts).
    assert.equal(await driver.changeProblem(id, { kind: 'resize', vcpus: 1, memoryMb: 64, diskGb: 1 }), 'shrinking is not supported: memory 64 MiB is less than the 128 MiB it has');
    const s1 = newSnapshotId();
    const orphan = path.join(disks, `${id}.${s1}.qcow2`);

    // Killed after the pause and after making the layer, before QEMU wrote on it.
    assert.equal((await virsh('suspend', id)).exitCode, 0);
    await execa('qemu-img', ['create', '-q', '-f', 'qcow2', '-b', path.join(disks, `${id}.qcow2`), '-F', 'qcow2', orphan]);
    await assert.rejects(apply(id, { kind: 'snapshotCreate', snapshotId: s1 }, { wasRunning: true }), /^HypervisorError: recover the snapshot: snap-\w+ was not taken before the spoke restarted/);
    assert.equal(await domainState(id), 'running');
    assert.deepEqual(await layersOf(id), [`${id}.qcow2`], 'the unfinished layer is gone');
    assert.equal(await fromGuest(ipv4, 'boot'), '1', 'the guest went on');

    // Killed after QEMU switched to the new layer, before the resume.
    const s2 = newSnapshotId();
    assert.equal((await virsh('suspend', id)).exitCode, 0);
    const file = path.join(disks, `${id}.${s2}.qcow2`);
    assert.equal((await virsh('snapshot-create-as', id, s2, '--disk-only', '--atomic', '--no-metadata', '--diskspec', `vda,snapshot=external,file=${file}`, '--diskspec', 'vdb,snapshot=no')).exitCode, 0);
    const out = await apply(id, { kind: 'snapshotCreate', snapshotId: s2 }, { wasRunning: true });
    assert.equal(out.state, 'running');
    assert.deepEqual(out.snapshots.map((s) => s.id), [s2], 'the snapshot completed');
    assert.equal(await mark(ipv4, 'still-here'), 'capsul-usermark still-here');

    // A delete killed with its active commit started, not pivoted: the recovery pivots and removes the layer.
    assert.equal((await virsh('blockcommit', id, 'vda', '--active', '--shallow')).exitCode, 0);
    const merged = await apply(id, { kind: 'snapshotDelete', snapshotId: s2 }, { wasRunning: true });
    assert.deepEqual(merged.snapshots, []);
    assert.deepEqual(await layersOf(id), [`${id}.qcow2`]);
    assert.equal(await persistentDisk(id), path.join(disks, `${id}.qcow2`));
    assert.equal(await usermark(ipv4), 'capsul-usermark still-here');

    // Destroy with snapshot layers: every layer goes.
    await apply(id, { kind: 'snapshotCreate', snapshotId: newSnapshotId() });
    await apply(id, { kind: 'snapshotCreate', snapshotId: newSnapshotId() });
    assert.equal((await layersOf(id)).length, 3);
    await destroyLeavesNothing(id);
  });
});
