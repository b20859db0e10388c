// An in-process hypervisor for tests and for machines without libvirt. It keeps its capsuls in a JSON file
// under the spoke's state directory, so they outlive a spoke restart as real domains would.
import { mkdirSync, readFileSync } from 'node:fs';
import { rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { VmCommand, VmState } from '~/contract/capsul';
import type { ImagesOnHost } from '~/contract/hub';
import { shrinking, type CapsulChange, type SnapshotOnHost } from '~/contract/change';
import type { CapsulDetail, CreateInput, ImageFiles } from '~/contract/spoke';
import type { Logger } from '~/lib/log';
import { BootLogRing } from '../console/ring';
import { SimulatedSerial } from '../console/simulated-serial';
import type { UsageCounters } from '../usage/counters';
import { SimulatedUsage } from '../usage/simulated';
import { HypervisorError, type CapsulSize, type ChangeOutcome, type Hypervisor, type MeasuredResources, type Progress, type SerialPort, type GraphicsPort } from './types';

/** How much of each fake capsul's boot log is kept (between this and twice this, on disk). */
const FAKE_LOG_BYTES = 256 * 1024;

type FakeVm = {
  id: string;
  state: VmState;
  vcpus?: number; // absent in files written before resize existed
  memoryMb: number;
  diskGb: number;
  ipv4: string;
  image?: string;
  snapshots?: SnapshotOnHost[];
};

/** What a fake snapshot layer takes: a small layer, so many fit. */
const FAKE_SNAPSHOT_BYTES = 1024 * 1024;

export type FakeOptions = {
  stateDir: string;
  memoryMb: number;
  diskGb: number;
  createMs: number;
  /** Image ids this host has; "*" for every image. */
  images: string;
};

const NEXT: Record<VmCommand, (s: VmState) => VmState> = {
  start: () => 'running',
  stop: () => 'stopped',
  forceStop: () => 'stopped',
  restart: (s) => {
    if (s !== 'running') throw new HypervisorError('restart needs a running capsul', 'precondition');
    return 'running';
  },
};

export class FakeHypervisor implements Hypervisor {
  readonly driver = 'fake' as const;
  private readonly file: string;
  private readonly vms: Map<string, FakeVm>;
  private readonly consoleDir: string;
  private readonly serials = new Map<string, SimulatedSerial>();
  /** What to tell an open attachment when its capsul stops or goes away. */
  private readonly ends = new Map<string, (reason: string) => void>();
  private readonly usage = new SimulatedUsage();

  constructor(private readonly opts: FakeOptions) {
    mkdirSync(opts.stateDir, { recursive: true });
    this.consoleDir = path.join(opts.stateDir, 'console');
    mkdirSync(this.consoleDir, { recursive: true });
    this.file = path.join(opts.stateDir, 'fake-hypervisor.json');
    let saved: FakeVm[] = [];
    try {
      saved = JSON.parse(readFileSync(this.file, 'utf8'));
    } catch {
      // first start
    }
    this.vms = new Map(saved.map((vm) => [vm.id, vm]));
  }

  private saved: Promise<void> = Promise.resolve();

  /**
   * Writes the capsuls as they are now, after any write still going (so the file ends with the newest). Not
   * synchronous: a spoke's event loop must not stop on a file write, as it would not on a virsh call.
   */
  private save(): Promise<void> {
    const data = JSON.stringify([...this.vms.values()]);
    const tmp = `${this.file}.tmp`;
    const write = async () => {
      await writeFile(tmp, data);
      await rename(tmp, this.file);
    };
    this.saved = this.saved.then(write, write);
    return this.saved;
  }

  async resources(): Promise<MeasuredResources> {
    let memory = this.opts.memoryMb;
    let disk = this.opts.diskGb;
    let snapshotBytes = 0;
    for (const vm of this.vms.values()) {
      memory -= vm.memoryMb;
      disk -= vm.diskGb;
      for (const s of vm.snapshots ?? []) snapshotBytes += s.bytes;
    }
    disk -= Math.ceil(snapshotBytes / 1024 ** 3);
    return { freeMemoryMb: memory, freeDiskGb: disk, counted: new Set(this.vms.keys()) };
  }

  async images(): Promise<ImagesOnHost> {
    return { ids: this.opts.images === '*' ? '*' : this.opts.images.split(',').filter(Boolean) };
  }

  async imageProblem(image: string, _files: ImageFiles): Promise<string | null> {
    if (this.opts.images === '*' || this.opts.images.split(',').includes(image)) return null;
    return `image ${image} is not on this host`;
  }

  async exists(id: string): Promise<boolean> {
    return this.vms.has(id);
  }

  async list(): Promise<CapsulDetail[]> {
    return [...this.vms.values()].map(({ id, state, ipv4 }) => ({ id, state, ipv4 }));
  }

  async get(id: string): Promise<CapsulDetail | null> {
    const vm = this.vms.get(id);
    return vm ? { id: vm.id, state: vm.state, ipv4: vm.ipv4 } : null;
  }

  async create(spec: CreateInput, log: Logger, progress: Progress = () => {}): Promise<CapsulDetail> {
    if (this.vms.has(spec.id)) throw new HypervisorError(`define: a domain named ${spec.id} already exists`);
    // The capsul counts against capacity from the start, as a defined domain does.
    const vm: FakeVm = { id: spec.id, state: 'stopped', vcpus: spec.vcpus, memoryMb: spec.memoryMb, diskGb: spec.diskGb, ipv4: fakeAddress(spec.id), image: spec.image };
    this.vms.set(spec.id, vm);
    await this.save();
    // The libvirt driver's steps, with the build's time spread over them.
    for (const step of ['disk', 'seed', 'defined', 'booting', 'address'] as const) {
      progress(step);
      await sleep(this.opts.createMs / 5);
    }
    if (!this.vms.has(spec.id)) throw new HypervisorError(`start: ${spec.id} was destroyed while it was being created`);
    vm.state = 'running';
    await this.save();
    this.serial(spec.id).boot();
    log.info('fake capsul running', { ipv4: vm.ipv4 });
    return { id: vm.id, state: vm.state, ipv4: vm.ipv4 };
  }

  async resume(spec: CreateInput, log: Logger, progress: Progress = () => {}): Promise<CapsulDetail> {
    const vm = this.vms.get(spec.id);
    if (!vm) return this.create(spec, log, progress);
    if (vm.state !== 'running') {
      progress('booting');
      await sleep(this.opts.createMs);
      vm.state = 'running';
      await this.save();
      this.serial(spec.id).boot();
    }
    return { id: vm.id, state: vm.state, ipv4: vm.ipv4 };
  }

  async setState(id: string, command: VmCommand): Promise<VmState> {
    const vm = this.vms.get(id);
    if (!vm) throw new HypervisorError(`no capsul ${id} on this host`, 'not_found');
    const before = vm.state;
    vm.state = NEXT[command](vm.state);
    await this.save();
    if (before === 'running' && (command !== 'start' || vm.state !== 'running')) {
      this.serial(id).print(`\r\n[simulated] ${command === 'restart' ? 'rebooting' : 'powered off'}\r\n`);
      if (command !== 'restart') this.ends.get(id)?.('the capsul stopped');
    }
    if (vm.state === 'running' && (before !== 'running' || command === 'restart')) this.serial(id).boot();
    return vm.state;
  }

  async destroy(id: string): Promise<void> {
    this.ends.get(id)?.('the capsul was destroyed');
    this.serials.get(id)?.ring.remove();
    this.serials.delete(id);
    if (this.vms.delete(id)) await this.save();
  }

  async size(id: string): Promise<CapsulSize | null> {
    const vm = this.vms.get(id);
    return vm ? { vcpus: vm.vcpus ?? 1, memoryMb: vm.memoryMb, diskGb: vm.diskGb } : null;
  }

  async snapshots(id: string): Promise<SnapshotOnHost[]> {
    return [...(this.vms.get(id)?.snapshots ?? [])];
  }

  async changeProblem(id: string, change: CapsulChange): Promise<string | null> {
    const vm = this.vms.get(id);
    if (!vm) return `no capsul ${id} on this host`;
    const has = (vm.snapshots ?? []).some((s) => 'snapshotId' in change && s.id === change.snapshotId);
    switch (change.kind) {
      case 'resize':
        return shrinking({ vcpus: vm.vcpus ?? 1, memoryMb: vm.memoryMb, diskGb: vm.diskGb }, change);
      case 'snapshotCreate':
        return has ? `capsul ${id} has a snapshot ${change.snapshotId} already` : null;
      case 'snapshotRevert':
      case 'snapshotDelete':
        return has ? null : `capsul ${id} has no snapshot ${change.snapshotId} on this host`;
      case 'rebuild':
        return this.imageProblem(change.image, change.imageFiles);
    }
  }

  /**
   * The change, with the build's time (FAKE_CREATE_MS) as its work. Each step is idempotent, so a change
   * an earlier run left half done is finished by running it again.
   */
  async applyChange(id: string, change: CapsulChange, log: Logger, recovering: false | { wasRunning: boolean }): Promise<ChangeOutcome> {
    const vm = this.vms.get(id);
    if (!vm) throw new HypervisorError(`no capsul ${id} on this host`, 'not_found');
    const wasRunning = recovering ? recovering.wasRunning : vm.state === 'running';
    const snapshots = (vm.snapshots ??= []);
    let pausedMs: number | undefined;
    const restart = change.kind === 'resize' || change.kind === 'snapshotRevert' || change.kind === 'rebuild';
    if (restart && vm.state === 'running') await this.setState(id, 'forceStop');
    await sleep(this.opts.createMs);
    switch (change.kind) {
      case 'resize':
        Object.assign(vm, { vcpus: change.vcpus, memoryMb: change.memoryMb, diskGb: change.diskGb });
        break;
      case 'snapshotCreate':
        if (!snapshots.some((s) => s.id === change.snapshotId)) snapshots.push({ id: change.snapshotId, bytes: FAKE_SNAPSHOT_BYTES });
        pausedMs = wasRunning ? 1 : undefined;
        break;
      case 'snapshotRevert': {
        const at = snapshots.findIndex((s) => s.id === change.snapshotId);
        if (at < 0) throw new HypervisorError(`revert: capsul ${id} has no snapshot ${change.snapshotId}`, 'precondition');
        snapshots.splice(at + 1);
        break;
      }
      case 'snapshotDelete':
        vm.snapshots = snapshots.filter((s) => s.id !== change.snapshotId);
        break;
      case 'rebuild':
        Object.assign(vm, { image: change.image, diskGb: change.diskGb, snapshots: [] });
        this.serials.get(id)?.ring.remove();
        this.serials.delete(id);
        break;
    }
    await this.save();
    if (wasRunning && vm.state !== 'running') await this.setState(id, 'start');
    log.info('fake change done', { capsulId: id, kind: change.kind, recovering: !!recovering });
    return { id, state: vm.state, ipv4: vm.ipv4, snapshots: [...(vm.snapshots ?? [])], pausedMs };
  }

  /** Made-up numbers (see SimulatedUsage), marked `simulated`: no VM runs behind a fake capsul. */
  async usageCounters(): Promise<UsageCounters> {
    const running = [...this.vms.values()].filter((vm) => vm.state === 'running');
    return this.usage.sample(
      running.map((vm) => ({ id: vm.id, vcpus: vm.vcpus ?? 1, memoryMb: vm.memoryMb, diskGb: vm.diskGb })),
      { memoryMb: this.opts.memoryMb, diskGb: this.opts.diskGb },
    );
  }

  async openSerial(id: string, historyMax: number): Promise<SerialPort> {
    const vm = this.vms.get(id);
    if (!vm) throw new HypervisorError(`no capsul ${id} on this host`, 'not_found');
    if (vm.state !== 'running') throw new HypervisorError(`capsul ${id} is ${vm.state}: its console opens once it runs`, 'precondition');
    const serial = this.serial(id);
    // Until the attachment listens, what the line prints waits here (after the history, which was taken before
    // it), so nothing printed between open and onData is lost.
    const waiting: Buffer[] = [];
    let dataListener: (data: Buffer) => void = (data) => void waiting.push(data);
    let endListener: (reason: string) => void = () => {};
    let ended = false;
    // The ring's tail and the listener are taken in one synchronous step: the ring and the listener are written
    // together (SimulatedSerial.print), so history + live is exact.
    const history = serial.ring.tail(historyMax);
    const detach = serial.attach((data) => dataListener(data));
    const end = (reason: string) => {
      if (ended) return;
      ended = true;
      detach();
      if (this.ends.get(id) === end) this.ends.delete(id);
      endListener(reason);
    };
    this.ends.get(id)?.('another attachment opened the port');
    this.ends.set(id, end);
    return {
      simulated: true,
      history,
      write: (data) => {
        if (!ended) serial.input(data);
      },
      onData: (listener) => {
        dataListener = listener;
        for (const data of waiting.splice(0)) listener(data);
      },
      onEnd: (listener) => void (endListener = listener),
      setCongestion: (congested) => void (serial.congested = congested),
      close: () => {
        serial.congested = () => false;
        end('closed');
      },
    };
  }

  /** Said plainly: no VM runs behind a fake capsul, so there is no screen to show. */
  async openGraphics(id: string): Promise<GraphicsPort> {
    if (!this.vms.has(id)) throw new HypervisorError(`no capsul ${id} on this host`, 'not_found');
    throw new HypervisorError('the fake driver has no graphical console (no VM runs behind a fake capsul); its serial console is simulated', 'unsupported');
  }

  async serialHistory(id: string, max: number): Promise<Buffer> {
    if (!this.vms.has(id)) return Buffer.alloc(0);
    return this.serial(id).ring.tail(max);
  }

  /** The capsul's simulated serial line (made on first use; its ring is on disk under console/). */
  private serial(id: string): SimulatedSerial {
    let serial = this.serials.get(id);
    if (!serial) {
      serial = new SimulatedSerial(id, new BootLogRing(path.join(this.consoleDir, `${id}.log`), FAKE_LOG_BYTES));
      this.serials.set(id, serial);
    }
    return serial;
  }
}

/** A stable address in 10.0.0.0/8 from the capsul id, so the same capsul always gets the same one. */
function fakeAddress(id: string): string {
  let h = 0;
  for (const c of id) h = (h * 31 + c.charCodeAt(0)) >>> 0;
  return `10.${(h >>> 16) & 255}.${(h >>> 8) & 255}.${(h & 253) + 2}`;
}
