// Changes to a capsul that exists: resize, snapshots and rebuild. Its disk is a linear chain of external
// qcow2 layers, with no libvirt snapshot metadata: L0 is <id>.qcow2 over the image's shared base; taking
// snapshot S freezes the active layer and writes on a new one, <id>.<S>.qcow2, so S's disk is the backing
// file of that layer (and everything below it). The shared base is never written.
import { readdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { shrinking, type CapsulChange, type SnapshotOnHost } from '~/contract/change';
import type { CapsulDetail, ImageFiles } from '~/contract/spoke';
import { errorMessage, type Logger } from '~/lib/log';
import { HypervisorError, type CapsulSize, type ChangeOutcome } from '../types';
import { buildSeedIso } from './cloud-init';
import { CommandError, qemuImg, type Runner } from './commands';
import { withBoot, withDiskSource, withMetadata } from './domain-xml';
import { diskSource, domainSize, isNotRunning, parseBackingChain, parseBlockJob, parseQemuImgInfo, type ChainLayer } from './parse';

const GiB = 1024 ** 3;
const SNAPSHOT_LAYER = /^capsul-[a-z0-9]{10}\.(snap-[a-z0-9]{10})\.qcow2$/;
// A merge copies the layer's data: allow for a big one.
const MERGE_TIMEOUT_MS = 60 * 60_000;
const SHUTDOWN_WAIT_MS = 60_000;

/** What the changes need from the driver. */
export type ChangeHost = {
  disksDir: string;
  imagesDir: string;
  virsh: Runner;
  domstate(id: string): Promise<string | null>;
  /** Starts the domain (with its consoles) and waits for its address. */
  boot(id: string, log: Logger): Promise<unknown>;
  get(id: string): Promise<CapsulDetail | null>;
  imageProblem(image: string, files: ImageFiles): Promise<string | null>;
  /** Drops what the driver caches about the capsul's disk. */
  forget(id: string): void;
};

/** A domain QEMU runs (running, paused, shutting down), as opposed to shut off or crashed. */
function isLive(state: string | null): boolean {
  return state !== null && state !== 'shut off' && state !== 'crashed';
}

async function exists(file: string): Promise<boolean> {
  return stat(file).then(() => true, () => false);
}

/** Each step names itself in its error, so a failure says which step and why. */
async function step<T>(name: string, work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (err) {
    if (err instanceof HypervisorError) throw err;
    throw new HypervisorError(`${name}: ${errorMessage(err)}`);
  }
}

async function imageInfo(file: string) {
  return parseQemuImgInfo(await qemuImg(['info', '-U', '--output=json', file]));
}

export class CapsulChanges {
  constructor(private readonly host: ChangeHost) {}

  private files(id: string) {
    const base = path.join(this.host.disksDir, id);
    return {
      l0: `${base}.qcow2`,
      seed: `${base}-seed.iso`,
      xml: `${base}.xml`,
      /** What an unfinished change needs to know after a restart: whether the guest was running. */
      layer: (snapshot: string) => `${base}.${snapshot}.qcow2`,
    };
  }

  /** One of this capsul's own layer files (L0 or a snapshot's), as opposed to an image's base. */
  private isOwnLayer(id: string, file: string): boolean {
    const name = path.basename(file);
    const own = name === `${id}.qcow2` || (SNAPSHOT_LAYER.test(name) && name.startsWith(`${id}.`));
    return own && path.dirname(file) === path.resolve(this.host.disksDir);
  }

  /** The file QEMU writes (the live XML of a running domain, else its persistent one). */
  async activeDisk(id: string): Promise<string> {
    const source = diskSource(await this.host.virsh(['dumpxml', id]), 'vda');
    if (!source) throw new HypervisorError(`the domain ${id} has no disk vda`);
    return source;
  }

  /** The capsul's own layers, L0 first, the active one last. */
  private async layersBelow(id: string, top: string): Promise<ChainLayer[]> {
    const chain = parseBackingChain(await qemuImg(['info', '-U', '--backing-chain', '--output=json', top]));
    return chain.filter((layer) => this.isOwnLayer(id, layer.file));
  }

  private async layers(id: string): Promise<ChainLayer[]> {
    return this.layersBelow(id, await this.activeDisk(id));
  }

  private snapshotsOf(layers: ChainLayer[]): SnapshotOnHost[] {
    const found: SnapshotOnHost[] = [];
    for (let i = 1; i < layers.length; i++) {
      const match = SNAPSHOT_LAYER.exec(path.basename(layers[i]!.file));
      if (match) found.push({ id: match[1]!, bytes: layers[i - 1]!.actualSize });
    }
    return found;
  }

  async snapshots(id: string): Promise<SnapshotOnHost[]> {
    if ((await this.host.domstate(id)) === null) return [];
    return this.snapshotsOf(await this.layers(id));
  }

  async size(id: string): Promise<CapsulSize | null> {
    if ((await this.host.domstate(id)) === null) return null;
    const { vcpus, memoryMb } = domainSize(await this.host.virsh(['dumpxml', '--inactive', id]));
    const disk = await imageInfo(await this.activeDisk(id));
    return { vcpus, memoryMb, diskGb: Math.ceil(disk.virtualSize / GiB) };
  }

  async problem(id: string, change: CapsulChange): Promise<string | null> {
    if (change.kind === 'resize') {
      const size = await this.size(id);
      if (!size) return `no capsul ${id} on this host`;
      return shrinking(size, change);
    }
    // The other changes need the domain to be there, not its size (which costs three commands more).
    if ((await this.host.domstate(id)) === null) return `no capsul ${id} on this host`;
    switch (change.kind) {
      case 'snapshotCreate': {
        const file = this.files(id).layer(change.snapshotId);
        return (await exists(file)) ? `capsul ${id} already has a disk layer for snapshot ${change.snapshotId} (${file})` : null;
      }
      case 'snapshotRevert':
      case 'snapshotDelete':
        return (await this.snapshots(id)).some((s) => s.id === change.snapshotId) ? null : `capsul ${id} has no snapshot ${change.snapshotId} on this host`;
      case 'rebuild': {
        const missing = await this.host.imageProblem(change.image, change.imageFiles);
        if (missing) return missing;
        const base = await imageInfo(path.join(this.host.imagesDir, change.imageFiles.disk));
        return base.virtualSize > change.diskGb * GiB ? `image ${change.image} is ${Math.ceil(base.virtualSize / GiB)} GiB, more than the ${change.diskGb} GiB disk asked for` : null;
      }
    }
  }

  async apply(id: string, change: CapsulChange, log: Logger, recovering: false | { wasRunning: boolean }): Promise<ChangeOutcome> {
    const state = await this.host.domstate(id);
    if (state === null) throw new HypervisorError(`no capsul ${id} on this host`, 'not_found');
    // Whether the guest ran before the change: an interrupted change may have stopped it already (the spoke's
    // journal says).
    const wasLive = recovering ? recovering.wasRunning : isLive(state);
    if (recovering) log.info('recovering an interrupted change', { capsulId: id, kind: change.kind, state, wasLive });
    let pausedMs: number | undefined;
    try {
      switch (change.kind) {
        case 'resize':
          await this.whileStopped(id, wasLive, 'shutdown', log, () => this.resize(id, change));
          break;
        case 'snapshotCreate':
          pausedMs = await this.snapshotCreate(id, change.snapshotId, state, log, !!recovering);
          break;
        case 'snapshotRevert':
          await this.whileStopped(id, wasLive, 'destroy', log, () => this.revert(id, change.snapshotId));
          break;
        case 'snapshotDelete':
          await this.snapshotDelete(id, change.snapshotId, state, log, !!recovering);
          break;
        case 'rebuild':
          await this.whileStopped(id, wasLive, 'destroy', log, () => this.rebuild(id, change));
          break;
      }
    } finally {
      this.host.forget(id);
    }
    // Two independent reads for the report: at once.
    const [detail, snapshots] = await Promise.all([this.host.get(id), this.snapshots(id)]);
    return { ...(detail ?? { id, state: 'stopped' as const }), snapshots, ...(pausedMs === undefined ? {} : { pausedMs }) };
  }

  /**
   * Runs `work` on the stopped domain (shut down by ACPI, forced after a while; or forced at once), then
   * starts it again if it ran. On failure the domain is started again on what it has, and the error thrown.
   */
  private async whileStopped(id: string, wasLive: boolean, stop: 'shutdown' | 'destroy', log: Logger, work: () => Promise<void>): Promise<void> {
    if (isLive(await this.host.domstate(id))) await step('stop the guest', () => this.stop(id, stop, log));
    try {
      await work();
    } catch (err) {
      if (wasLive) await this.host.boot(id, log).catch((bootErr) => log.error('after a failed change, the capsul did not start again', { capsulId: id, err: bootErr }));
      throw err;
    }
    if (wasLive) await step('start the guest again', () => this.host.boot(id, log));
  }

  private async stop(id: string, how: 'shutdown' | 'destroy', log: Logger): Promise<void> {
    const virsh = this.host.virsh;
    const ignoreNotRunning = (err: unknown) => {
      if (!(err instanceof CommandError && isNotRunning(err.stderr))) throw err;
    };
    if (how === 'shutdown') {
      await virsh(['shutdown', id]).catch(ignoreNotRunning);
      const deadline = Date.now() + SHUTDOWN_WAIT_MS;
      while (Date.now() < deadline) {
        if (!isLive(await this.host.domstate(id))) return;
        await sleep(250);
      }
      log.warn('the guest did not shut down in time; forcing it off', { capsulId: id });
    }
    await virsh(['destroy', id]).catch(ignoreNotRunning);
  }

  /** The domain's persistent definition, edited (from `dumpxml --inactive`). */
  private async redefine(id: string, edit: (xml: string) => string): Promise<void> {
    const { xml } = this.files(id);
    await writeFile(xml, edit(await this.host.virsh(['dumpxml', '--inactive', id])), { mode: 0o644 });
    await this.host.virsh(['define', xml]);
  }

  /** Makes the persistent definition write on `file` too (a stop and start then keeps the chain). */
  private async persistOn(id: string, file: string): Promise<void> {
    if (diskSource(await this.host.virsh(['dumpxml', '--inactive', id]), 'vda') !== file) {
      await this.redefine(id, (xml) => withDiskSource(xml, 'vda', file));
    }
  }

  /** Removes the capsul's snapshot layer files that are not in the chain below `top`. */
  private async removeLayersOutside(id: string, top: string): Promise<void> {
    const keep = new Set((await this.layersBelow(id, top)).map((l) => path.basename(l.file)));
    for (const name of await readdir(this.host.disksDir)) {
      const unfinished = (name.startsWith(`${id}.`) || name.startsWith(`${id}-`)) && name.endsWith('.new');
      if ((SNAPSHOT_LAYER.test(name) && name.startsWith(`${id}.`) && !keep.has(name)) || unfinished) {
        await rm(path.join(this.host.disksDir, name), { force: true });
      }
    }
  }

  private async resize(id: string, want: { vcpus: number; memoryMb: number; diskGb: number }): Promise<void> {
    const virsh = this.host.virsh;
    const active = await step('find the disk', () => this.activeDisk(id));
    const disk = await step('inspect the disk', () => imageInfo(active));
    if (want.diskGb * GiB > disk.virtualSize) await step('grow the disk', () => qemuImg(['resize', '-q', active, `${want.diskGb}G`]));
    // Each of these fails above its maximum: the maximum first.
    await step('set the memory', async () => {
      await virsh(['setmaxmem', id, `${want.memoryMb}M`, '--config']);
      await virsh(['setmem', id, `${want.memoryMb}M`, '--config']);
    });
    await step('set the vCPUs', async () => {
      await virsh(['setvcpus', id, String(want.vcpus), '--config', '--maximum']);
      await virsh(['setvcpus', id, String(want.vcpus), '--config']);
    });
    await step('record the disk size', () => this.redefine(id, (xml) => withMetadata(xml, { diskGb: want.diskGb })));
  }

  /** Returns how long the guest was paused (ms), when it ran. */
  private async snapshotCreate(id: string, snapshot: string, state: string | null, log: Logger, recovering: boolean): Promise<number | undefined> {
    const virsh = this.host.virsh;
    const file = this.files(id).layer(snapshot);
    if (recovering) {
      if (state === 'paused') {
        await step('resume the guest', () => virsh(['resume', id]));
        log.info('recovering: resumed the guest an interrupted snapshot left paused', { capsulId: id });
      }
      if ((await this.layers(id)).some((l) => l.file === file)) {
        if (isLive(state)) await step('keep the new layer in the definition', () => this.persistOn(id, file));
        log.info('recovering: the snapshot was taken before the restart', { capsulId: id, snapshotId: snapshot });
        return undefined;
      }
      await rm(file, { force: true });
      throw new HypervisorError(`recover the snapshot: ${snapshot} was not taken before the spoke restarted (its unfinished layer is removed, the disk is as it was); take it again`);
    }
    if (await exists(file)) throw new HypervisorError(`take the snapshot: ${file} already exists`, 'precondition');
    const active = await step('find the disk', () => this.activeDisk(id));
    if (!isLive(state)) {
      await step('create the snapshot layer', () => qemuImg(['create', '-q', '-f', 'qcow2', '-b', active, '-F', 'qcow2', file]));
      await step('point the domain at the new layer', () => this.redefine(id, (xml) => withDiskSource(xml, 'vda', file))).catch(async (err) => {
        await rm(file, { force: true });
        throw err;
      });
      return undefined;
    }
    const userPaused = state === 'paused';
    if (!userPaused) await step('pause the guest', () => virsh(['suspend', id]));
    const pausedAt = performance.now();
    let pausedMs = 0;
    try {
      await step('take the snapshot', () =>
        virsh(['snapshot-create-as', id, snapshot, '--disk-only', '--atomic', '--no-metadata', '--diskspec', `vda,snapshot=external,file=${file}`, '--diskspec', 'vdb,snapshot=no']),
      );
    } catch (err) {
      if ((await this.activeDisk(id).catch(() => file)) !== file) await rm(file, { force: true });
      throw err;
    } finally {
      if (!userPaused) await step('resume the guest', () => virsh(['resume', id]));
      pausedMs = Math.max(1, Math.round(performance.now() - pausedAt));
    }
    await step('keep the new layer in the definition', () => this.persistOn(id, file));
    return pausedMs;
  }

  /**
   * On the stopped domain: a fresh layer over the snapshot's frozen file (as big as the disk is now: a revert
   * does not undo a resize) replaces <id>.<S>.qcow2, the domain writes on it, and the later layers go.
   * Idempotent: an interrupted revert is run again from the start.
   */
  private async revert(id: string, snapshot: string): Promise<void> {
    const file = this.files(id).layer(snapshot);
    if (!(await exists(file))) throw new HypervisorError(`revert: capsul ${id} has no snapshot ${snapshot}`, 'precondition');
    const frozen = (await step('inspect the snapshot', () => imageInfo(file))).backingFile;
    if (!frozen || !this.isOwnLayer(id, frozen)) throw new HypervisorError(`revert: the layer of ${snapshot} is not backed by one of the capsul's own layers (${frozen ?? 'none'})`);
    const sizes = await Promise.all([file, frozen, await this.activeDisk(id).catch(() => file)].map((f) => imageInfo(f).then((i) => i.virtualSize, () => 0)));
    const fresh = `${file}.new`;
    await step('create a fresh layer over the snapshot', () => qemuImg(['create', '-q', '-f', 'qcow2', '-b', frozen, '-F', 'qcow2', fresh, String(Math.max(...sizes))]));
    await step('replace the layer', () => rename(fresh, file));
    await step('point the domain at it', () => this.redefine(id, (xml) => withDiskSource(xml, 'vda', file)));
    await step('remove the later snapshots', () => this.removeLayersOutside(id, file));
  }

  /** Merges the layer written after the snapshot into the snapshot's frozen file; no other snapshot changes. */
  private async snapshotDelete(id: string, snapshot: string, state: string | null, log: Logger, recovering: boolean): Promise<void> {
    const file = this.files(id).layer(snapshot);
    const live = isLive(state);
    if (live && recovering) await step('finish the merge', () => this.finishBlockJob(id));
    const active = await step('find the disk', () => this.activeDisk(id));
    const layers = await step('read the disk chain', () => this.layersBelow(id, active));
    const at = layers.findIndex((l) => l.file === file);
    if (at < 0) {
      if (!recovering) throw new HypervisorError(`delete: capsul ${id} has no snapshot ${snapshot}`, 'precondition');
      if (live) await step('keep the disk in the definition', () => this.persistOn(id, active));
      await rm(file, { force: true });
      log.info('recovering: the snapshot was merged before the restart', { capsulId: id, snapshotId: snapshot });
      return;
    }
    // Never into the image's shared base: the target is always one of the capsul's own layers.
    const target = layers[at - 1];
    if (!target) throw new HypervisorError(`delete: the layer of ${snapshot} has no capsul layer below it`);
    const child = layers[at + 1];
    const virsh = this.host.virsh;
    if (live) {
      if (file === active) {
        await step('merge the layer (blockcommit)', () => virsh(['blockcommit', id, 'vda', '--active', '--shallow', '--pivot', '--wait'], { timeoutMs: MERGE_TIMEOUT_MS }));
      } else {
        await step('merge the layer (blockcommit)', () => virsh(['blockcommit', id, 'vda', '--top', file, '--shallow', '--wait'], { timeoutMs: MERGE_TIMEOUT_MS }));
      }
      await step('keep the disk in the definition', () => this.persistOn(id, child ? active : target.file));
    } else {
      await step('merge the layer (qemu-img commit)', () => qemuImg(['commit', '-q', '-d', file], { timeoutMs: MERGE_TIMEOUT_MS }));
      if (child) await step('rebase the next layer', () => qemuImg(['rebase', '-u', '-b', target.file, '-F', 'qcow2', child.file]));
      // Redefined either way: the persistent XML may still describe the old chain.
      await step('point the domain at its disk', () => this.redefine(id, (xml) => withDiskSource(xml, 'vda', child ? active : target.file)));
    }
    await step('remove the merged layer', () => rm(file, { force: true }));
  }

  /** Waits for a block job an earlier run left (pivoting an active commit that is ready). */
  private async finishBlockJob(id: string): Promise<void> {
    const deadline = Date.now() + MERGE_TIMEOUT_MS;
    while (Date.now() < deadline) {
      const job = parseBlockJob(await this.host.virsh(['blockjob', id, 'vda', '--info', '--raw']));
      if (!job) return;
      if (/active/i.test(job.type) && job.end > 0 && job.cur === job.end) {
        await this.host.virsh(['blockjob', id, 'vda', '--pivot']).catch(() => {}); // not ready yet: polled again
      }
      await sleep(500);
    }
    throw new Error('the block job did not finish');
  }

  /**
   * On the stopped domain: a new L0 over the image's base and a new seed, made aside and then put in place;
   * the domain keeps its name, UUID and MAC (so its address), with its disk, boot and image changed.
   */
  private async rebuild(id: string, change: Extract<CapsulChange, { kind: 'rebuild' }>): Promise<void> {
    const f = this.files(id);
    const base = path.join(this.host.imagesDir, change.imageFiles.disk);
    const info = await step('inspect the base image', () => imageInfo(base));
    if (info.virtualSize > change.diskGb * GiB) {
      throw new HypervisorError(`inspect the base image: image ${change.image} is ${Math.ceil(info.virtualSize / GiB)} GiB, more than the ${change.diskGb} GiB disk asked for`);
    }
    const [disk, seed] = [`${f.l0}.new`, `${f.seed}.new`];
    try {
      await step('create the disk', () => qemuImg(['create', '-q', '-f', 'qcow2', '-b', base, '-F', info.format, disk, `${change.diskGb}G`]));
      await step('build the cloud-init seed', () => buildSeedIso({ id, sshAuthorizedKeys: change.sshAuthorizedKeys, output: seed, workDir: this.host.disksDir }));
    } catch (err) {
      await Promise.all([disk, seed].map((file) => rm(file, { force: true })));
      throw err;
    }
    await step('put the new disk in place', async () => {
      await rename(seed, f.seed);
      await rename(disk, f.l0);
    });
    const { kernel, initrd, cmdline } = change.imageFiles;
    const directBoot = kernel ? { kernel: path.join(this.host.imagesDir, kernel), initrd: initrd ? path.join(this.host.imagesDir, initrd) : undefined, cmdline } : undefined;
    await step('redefine the domain', () => this.redefine(id, (xml) => withMetadata(withBoot(withDiskSource(xml, 'vda', f.l0), directBoot), { diskGb: change.diskGb, image: change.image })));
    await step('remove the old snapshots', () => this.removeLayersOutside(id, f.l0));
  }
}
