// The libvirt driver: every capsul is a libvirt domain named by its id, with a qcow2 overlay on an image's
// base disk, a cloud-init NoCloud seed, and its serial console in a log file, all in the disks directory.
import net from 'node:net';
import { mkdir, readdir, readFile, rm, stat, statfs, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { execa } from 'execa';
import type { CapsulChange, SnapshotOnHost } from '~/contract/change';
import type { VmCommand, VmState } from '~/contract/capsul';
import { CAPSUL_ID_PATTERN } from '~/contract/ids';
import type { ImagesOnHost } from '~/contract/hub';
import { fileName, type CapsulDetail, type CreateInput, type ImageFiles } from '~/contract/spoke';
import type { Env } from '~/env';
import { errorMessage, type Logger } from '~/lib/log';
import { tailFiles } from '../../console/ring';
import type { UsageCounters } from '../../usage/counters';
import { hostCounters } from '../../usage/host';
import { HypervisorError, type CapsulSize, type ChangeOutcome, type Hypervisor, type MeasuredResources, type Progress, type SerialPort, type GraphicsPort } from '../types';
import { CapsulChanges } from './changes';
import { buildSeedIso } from './cloud-init';
import { CommandError, qemuImg, virshRunner, type Runner } from './commands';
import { domainXml, withConsoles, type Nic } from './domain-xml';
import {
  isNoSuchDomain,
  isNotRunning,
  networkFamilies,
  parseDomifaddr,
  parseDomstats,
  parseListAll,
  parseNodeMemStats,
  parseQemuImgInfo,
  parseUsageDomstats,
  toVmState,
} from './parse';

const GiB = 1024 ** 3;
// virDomainState: 5 = shut off, 6 = crashed. Such domains hold no memory now, but will when started.
const NOT_RUNNING = new Set([5, 6]);
// Once a guest has one address on a dual-stack network, how long a create waits for the other family.
const SECOND_ADDRESS_GRACE_MS = 10_000;

type Addresses = { ipv4?: string; ipv6?: string };

export type LibvirtConfig = {
  uri: string;
  nic: Nic;
  /** The address families the network hands out (from its XML; unknown on a bridge): a create waits a little for each. */
  families?: { ipv4: boolean; ipv6: boolean };
  domainType: 'qemu' | 'kvm';
  imagesDir: string;
  disksDir: string;
  memoryReserveMb: number;
  diskReserveGb: number;
  readyTimeoutMs: number;
};

export function libvirtConfig(env: Env): LibvirtConfig {
  return {
    uri: env.LIBVIRT_URI,
    nic: env.LIBVIRT_BRIDGE ? { bridge: env.LIBVIRT_BRIDGE } : { network: env.LIBVIRT_NETWORK ?? 'default' },
    domainType: env.LIBVIRT_DOMAIN_TYPE,
    imagesDir: env.SPOKE_IMAGES_DIR,
    disksDir: env.SPOKE_DISKS_DIR,
    memoryReserveMb: env.SPOKE_MEMORY_RESERVE_MB,
    diskReserveGb: env.SPOKE_DISK_RESERVE_GB,
    readyTimeoutMs: env.SPOKE_READY_TIMEOUT_MS,
  };
}

function assertCapsulId(id: string): void {
  // The router validated it already; this keeps the driver from ever touching a domain that is not a capsul.
  if (!CAPSUL_ID_PATTERN.test(id)) throw new HypervisorError(`${id} is not a capsul id`, 'precondition');
}

/**
 * The first folder above (or at) `dir` that other users cannot pass through (no o+x), which QEMU, running as
 * its own user, cannot either; none when QEMU is configured to run as root (qemu.conf `user = "root"`).
 */
async function closedAncestor(dir: string): Promise<string | undefined> {
  const conf = await readFile('/etc/libvirt/qemu.conf', 'utf8').catch(() => '');
  if (/^\s*user\s*=\s*"(root|\+0)"/m.test(conf)) return undefined;
  for (let at = path.resolve(dir); ; at = path.dirname(at)) {
    const mode = await stat(at).then((s) => s.mode, () => undefined);
    if (mode !== undefined && !(mode & 0o001)) return at;
    if (at === path.dirname(at)) return undefined;
  }
}

async function exists(file: string): Promise<boolean> {
  return stat(file).then(() => true, () => false);
}

export class LibvirtHypervisor implements Hypervisor {
  readonly driver = 'libvirt' as const;
  private readonly virtualSizes = new Map<string, number>();
  /** The layer each capsul writes on (its other layers are frozen): what `resources` counts the growth of. */
  private readonly activeDisks = new Map<string, string>();
  private readonly changes: CapsulChanges;

  constructor(
    private readonly cfg: LibvirtConfig,
    private readonly virsh: Runner,
    private readonly log: Logger,
  ) {
    this.changes = new CapsulChanges({
      disksDir: cfg.disksDir,
      imagesDir: cfg.imagesDir,
      virsh,
      domstate: (id) => this.domstate(id),
      boot: async (id, log) => {
        await this.addConsoles(id, log);
        await this.virsh(['start', id]);
        return this.waitForAddress(id);
      },
      get: (id) => this.get(id),
      imageProblem: (image, files) => this.imageProblem(image, files),
      forget: (id) => this.forget(id),
    });
  }

  /** Checks what the driver needs (libvirt answering, its network, the tools) and makes its folders. */
  static async open(env: Env, log: Logger): Promise<LibvirtHypervisor> {
    const cfg = libvirtConfig(env);
    const virsh = virshRunner(cfg.uri);
    await virsh(['version'], { timeoutMs: 15_000 });
    if ('bridge' in cfg.nic) {
      if (!(await exists(`/sys/class/net/${cfg.nic.bridge}/bridge`))) {
        throw new Error(`"${cfg.nic.bridge}" (LIBVIRT_BRIDGE) is not a bridge on this host: make one (docs/DEPLOYMENT.md, "Networks") or unset LIBVIRT_BRIDGE`);
      }
    } else {
      const { network } = cfg.nic;
      const xml = await virsh(['net-dumpxml', network]).catch((err) => {
        throw new Error(`libvirt network "${network}" is not there (LIBVIRT_NETWORK): ${errorMessage(err)}`);
      });
      cfg.families = networkFamilies(xml);
    }
    await qemuImg(['--version']);
    await execa('xorriso', ['-version']).catch(() => {
      throw new Error('xorriso is not installed (it builds the cloud-init seeds): apt-get install -y xorriso');
    });
    // QEMU runs as its own user under qemu:///system: the folders must be traversable by it.
    await mkdir(cfg.imagesDir, { recursive: true, mode: 0o755 });
    await mkdir(cfg.disksDir, { recursive: true, mode: 0o755 });
    for (const dir of new Set([cfg.imagesDir, cfg.disksDir])) {
      const closed = await closedAncestor(dir);
      if (closed) {
        log.warn(`QEMU runs as its own user (libvirt-qemu) and cannot reach ${dir}: ${closed} lets no other user in, so capsuls would fail to start. Run chmod o+x ${closed}, or set SPOKE_IMAGES_DIR and SPOKE_DISKS_DIR to folders it can reach (e.g. under /var/lib/capsul)`);
      }
    }
    return new LibvirtHypervisor(cfg, virsh, log);
  }

  private paths(id: string) {
    const base = path.join(this.cfg.disksDir, id);
    const consoleLog = `${base}.console.log`;
    return {
      disk: `${base}.qcow2`,
      seed: `${base}-seed.iso`,
      xml: `${base}.xml`,
      consoleSocket: `${base}.console.sock`,
      consoleLog,
      /** virtlogd's rotations of the log, oldest first, then the live one. */
      consoleLogs: [3, 2, 1, 0].map((n) => `${consoleLog}.${n}`).concat(consoleLog),
    };
  }

  private async capsulDomains(): Promise<{ name: string; state: string }[]> {
    return parseListAll(await this.virsh(['list', '--all'])).filter((d) => CAPSUL_ID_PATTERN.test(d.name));
  }

  /**
   * Memory: what the host has not promised to any defined domain, and no more than it has free (counting
   * page cache as free) once the stopped domains start again, minus the reserve. Disk: free space on the
   * disks' filesystem minus what the capsul overlays may still grow into, minus the reserve.
   */
  async resources(): Promise<MeasuredResources> {
    const [memText, statsText, fs, domains] = await Promise.all([
      this.virsh(['nodememstats']),
      this.virsh(['domstats', '--balloon', '--state']),
      statfs(this.cfg.disksDir),
      this.capsulDomains(),
    ]);
    const mem = parseNodeMemStats(memText);
    let committedKib = 0;
    let stoppedKib = 0;
    for (const d of parseDomstats(statsText).values()) {
      committedKib += d.maxMemoryKib;
      if (NOT_RUNNING.has(d.state)) stoppedKib += d.maxMemoryKib;
    }
    const reclaimableKib = mem.freeKib + mem.buffersKib + mem.cachedKib;
    const memoryKib = Math.min(mem.totalKib - committedKib, reclaimableKib - stoppedKib) - this.cfg.memoryReserveMb * 1024;

    let growth = 0;
    for (const d of domains) {
      const disk = await this.activeDisk(d.name).catch(() => undefined);
      if (disk === undefined) continue;
      const allocated = await stat(disk).then((s) => s.blocks * 512, () => undefined);
      if (allocated === undefined) continue;
      growth += Math.max(0, (await this.virtualSize(disk)) - allocated);
    }
    const diskBytes = fs.bavail * fs.bsize - growth - this.cfg.diskReserveGb * GiB;
    return { freeMemoryMb: Math.floor(memoryKib / 1024), freeDiskGb: Math.floor(diskBytes / GiB), counted: new Set(domains.map((d) => d.name)) };
  }

  /** One `virsh domstats` for every running domain (capsuls only are kept), and the host's own counters. */
  async usageCounters(): Promise<UsageCounters> {
    const stats = await this.virsh(['domstats', '--raw', '--list-running', '--state', '--cpu-total', '--balloon', '--vcpu', '--interface', '--block'], { timeoutMs: 20_000 });
    // Stamped when virsh answered, with the host read at the same moment.
    const at = new Date();
    const monotonicMs = performance.now();
    const host = await hostCounters(this.cfg.disksDir);
    const capsuls = [...parseUsageDomstats(stats)].filter(([id]) => CAPSUL_ID_PATTERN.test(id)).map(([id, c]) => ({ id, ...c }));
    return { at, monotonicMs, simulated: false, host, capsuls };
  }

  private async activeDisk(id: string): Promise<string> {
    let disk = this.activeDisks.get(id);
    if (disk === undefined) {
      disk = await this.changes.activeDisk(id);
      this.activeDisks.set(id, disk);
    }
    return disk;
  }

  /** Drops what is cached about a capsul's disk (after a change: its layers and their sizes changed). */
  private forget(id: string): void {
    this.activeDisks.delete(id);
    const prefix = path.join(this.cfg.disksDir, id);
    for (const disk of this.virtualSizes.keys()) if (disk.startsWith(prefix)) this.virtualSizes.delete(disk);
  }

  private async virtualSize(disk: string): Promise<number> {
    let size = this.virtualSizes.get(disk);
    if (size === undefined) {
      size = parseQemuImgInfo(await qemuImg(['info', '-U', '--output=json', disk])).virtualSize;
      this.virtualSizes.set(disk, size);
    }
    return size;
  }

  /** The files in the images directory (plain names only: anything else cannot be an image's file anyway). */
  async images(): Promise<ImagesOnHost> {
    const entries = await readdir(this.cfg.imagesDir, { withFileTypes: true });
    const files = entries.filter((e) => e.isFile() && fileName.safeParse(e.name).success).map((e) => e.name);
    return { files: files.sort().slice(0, 10_000) };
  }

  async imageProblem(image: string, files: ImageFiles): Promise<string | null> {
    for (const name of [files.disk, files.kernel, files.initrd]) {
      if (name && !(await exists(path.join(this.cfg.imagesDir, name)))) {
        return `image ${image}: ${name} is not in ${this.cfg.imagesDir} on this host`;
      }
    }
    return null;
  }

  private async domstate(id: string): Promise<string | null> {
    try {
      return (await this.virsh(['domstate', id])).trim();
    } catch (err) {
      if (err instanceof CommandError && isNoSuchDomain(err.stderr)) return null;
      throw err;
    }
  }

  async exists(id: string): Promise<boolean> {
    return (await this.domstate(id)) !== null;
  }

  async list(): Promise<CapsulDetail[]> {
    return (await this.capsulDomains()).map((d) => ({ id: d.name, state: toVmState(d.state) }));
  }

  /** Why the last look in the host's ARP table failed, for the error when no address turns up. */
  private arpProblem: string | undefined;

  /**
   * The guest's addresses from libvirt's DHCP leases; when there are none (a bridge, a network without DHCP,
   * an address set inside the guest) and `arp` is set, from the host's ARP table. An ARP table libvirt
   * cannot read is no address, not an error (libvirt 9.0 on newer kernels: "wrong nlmsg len").
   */
  private async discover(id: string, arp: boolean): Promise<Addresses> {
    const lease = 'bridge' in this.cfg.nic ? {} : parseDomifaddr(await this.virsh(['domifaddr', id, '--source', 'lease']));
    if (lease.ipv4 || lease.ipv6 || !arp) return lease;
    try {
      const seen = parseDomifaddr(await this.virsh(['domifaddr', id, '--source', 'arp']));
      this.arpProblem = undefined;
      return seen;
    } catch (err) {
      if (err instanceof CommandError && (isNotRunning(err.stderr) || isNoSuchDomain(err.stderr))) throw err;
      this.arpProblem = errorMessage(err);
      return {};
    }
  }

  private async addresses(id: string): Promise<Addresses> {
    try {
      return await this.discover(id, true);
    } catch (err) {
      if (err instanceof CommandError && (isNotRunning(err.stderr) || isNoSuchDomain(err.stderr))) return {};
      throw err;
    }
  }

  async get(id: string): Promise<CapsulDetail | null> {
    assertCapsulId(id);
    const state = await this.domstate(id);
    if (state === null) return null;
    const vmState = toVmState(state);
    return { id, state: vmState, ...(vmState === 'running' ? await this.addresses(id) : {}) };
  }

  async create(spec: CreateInput, log: Logger, progress: Progress = () => {}): Promise<CapsulDetail> {
    assertCapsulId(spec.id);
    const p = this.paths(spec.id);
    const made: string[] = [];
    let defined = false;
    // Each step names itself in its error, so a failure says which step and why.
    const step = async <T>(name: string, work: () => Promise<T>): Promise<T> => {
      try {
        return await work();
      } catch (err) {
        throw new HypervisorError(`${name}: ${errorMessage(err)}`);
      }
    };
    try {
      const base = path.join(this.cfg.imagesDir, spec.imageFiles.disk);
      const info = await step('inspect the base image', async () => parseQemuImgInfo(await qemuImg(['info', '-U', '--output=json', base])));
      if (info.virtualSize > spec.diskGb * GiB) {
        throw new HypervisorError(`inspect the base image: image ${spec.image} is ${Math.ceil(info.virtualSize / GiB)} GiB, more than the ${spec.diskGb} GiB disk asked for`);
      }
      for (const file of [p.disk, p.seed]) {
        if (await exists(file)) throw new HypervisorError(`create the disk: ${file} already exists`);
      }
      // A Unix socket's path is at most 107 bytes (sun_path): libvirt would refuse to start the domain.
      if (Buffer.byteLength(p.consoleSocket) > MAX_SOCKET_PATH) {
        throw new HypervisorError(`create the disk: the serial console's socket ${p.consoleSocket} is longer than ${MAX_SOCKET_PATH} bytes (a Unix socket's limit); use a shorter SPOKE_DISKS_DIR`);
      }
      made.push(p.disk, p.seed, p.xml, p.consoleSocket, ...p.consoleLogs);
      progress('disk');
      await step('create the disk', () => qemuImg(['create', '-q', '-f', 'qcow2', '-b', base, '-F', info.format, p.disk, `${spec.diskGb}G`]));
      progress('seed');
      await step('build the cloud-init seed', () => buildSeedIso({ id: spec.id, sshAuthorizedKeys: spec.sshAuthorizedKeys, output: p.seed, workDir: this.cfg.disksDir }));
      const xml = domainXml({
        name: spec.id,
        type: this.cfg.domainType,
        memoryMb: spec.memoryMb,
        vcpus: spec.vcpus,
        disk: p.disk,
        seed: p.seed,
        nic: this.cfg.nic,
        consoleSocket: p.consoleSocket,
        consoleLog: p.consoleLog,
        directBoot: spec.imageFiles.kernel
          ? {
              kernel: path.join(this.cfg.imagesDir, spec.imageFiles.kernel),
              initrd: spec.imageFiles.initrd ? path.join(this.cfg.imagesDir, spec.imageFiles.initrd) : undefined,
              cmdline: spec.imageFiles.cmdline,
            }
          : undefined,
        metadata: { diskGb: spec.diskGb, image: spec.image, operationId: spec.operationId },
      });
      progress('defined');
      await step('write the domain XML', () => writeFile(p.xml, xml, { mode: 0o644 }));
      await step('define the domain', () => this.virsh(['define', p.xml]));
      defined = true;
      progress('booting');
      await step('start the domain', () => this.virsh(['start', spec.id]));
      log.info('domain started; waiting for its DHCP lease', { capsulId: spec.id });
      progress('address');
      const address = await step('wait for an address', () => this.waitForAddress(spec.id));
      return { id: spec.id, state: 'running', ...address };
    } catch (err) {
      await this.removeEverything(spec.id, defined, made, log);
      throw err;
    }
  }

  async resume(spec: CreateInput, log: Logger, progress: Progress = () => {}): Promise<CapsulDetail> {
    assertCapsulId(spec.id);
    // A virsh that fails or times out says nothing about the domain: never taken for "gone".
    const state = await this.domstate(spec.id).catch((err) => {
      throw new HypervisorError(`libvirt did not say whether ${spec.id} exists: ${errorMessage(err)}`, 'unavailable');
    });
    if (state === null) {
      // Never defined: whatever the interrupted create made before that is its own; start it again.
      const p = this.paths(spec.id);
      await Promise.all([p.disk, p.seed, p.xml, p.consoleSocket, ...p.consoleLogs].map((f) => rm(f, { force: true })));
      this.virtualSizes.delete(p.disk);
      log.info('resume: the domain was never defined; creating it again', { capsulId: spec.id });
      return this.create(spec, log, progress);
    }
    progress('booting');
    if (toVmState(state) !== 'running') {
      await this.addConsoles(spec.id, log);
      await this.virsh(['start', spec.id]);
    }
    log.info('resume: the domain is there; waiting for its DHCP lease', { capsulId: spec.id });
    progress('address');
    return { id: spec.id, state: 'running', ...(await this.waitForAddress(spec.id)) };
  }

  /**
   * Polls for an address every 250 ms, up to the ready timeout: the DHCP lease each time, the host's ARP
   * table every fourth time (every time on a bridge, where libvirt keeps no leases). `domifaddr` fails with
   * "not running" if the guest stopped, which ends the wait. On a network that gives both IPv4 and IPv6, the
   * first address is followed by a short wait for the other family. The guest boots on the same cores, so the wait
   * itself should cost as little CPU as it can.
   */
  private async waitForAddress(id: string): Promise<Addresses> {
    const deadline = Date.now() + this.cfg.readyTimeoutMs;
    let firstAt: number | undefined;
    for (let poll = 0; Date.now() < deadline; poll++) {
      let found: Addresses;
      try {
        found = await this.discover(id, 'bridge' in this.cfg.nic || poll % 4 === 3);
      } catch (err) {
        if (err instanceof CommandError && (isNotRunning(err.stderr) || isNoSuchDomain(err.stderr))) {
          throw new Error(`the guest is ${(await this.domstate(id)) ?? 'gone'} instead of running`);
        }
        throw err;
      }
      if (found.ipv4 || found.ipv6) {
        firstAt ??= Date.now();
        const want = this.cfg.families;
        const complete = !want || ((!want.ipv4 || !!found.ipv4) && (!want.ipv6 || !!found.ipv6));
        if (complete || Date.now() - firstAt >= SECOND_ADDRESS_GRACE_MS) return found;
      }
      await sleep(250);
    }
    const seconds = Math.round(this.cfg.readyTimeoutMs / 1000);
    const arp = this.arpProblem ? `; the host's ARP table could not be read (${this.arpProblem})` : '';
    if ('bridge' in this.cfg.nic) {
      throw new Error(`no address seen for the guest on bridge ${this.cfg.nic.bridge} within ${seconds} s: libvirt hands out no addresses on a bridge, so it shows once the guest has one and the host has exchanged traffic with it${arp}`);
    }
    throw new Error(`no address on network ${this.cfg.nic.network} within ${seconds} s: no DHCP lease, nor anything in the host's ARP table${arp}`);
  }

  /** Cleanup after a failed create: only what this create made (a pre-existing domain is never touched). */
  private async removeEverything(id: string, defined: boolean, files: string[], log: Logger): Promise<void> {
    if (defined) {
      await this.virsh(['destroy', id]).catch(() => {});
      await this.virsh(['undefine', id]).catch((err) => log.error('cleanup: undefine failed', { err }));
    }
    await Promise.all(files.map((f) => rm(f, { force: true })));
    this.virtualSizes.delete(this.paths(id).disk);
  }

  async setState(id: string, command: VmCommand, log: Logger = this.log): Promise<VmState> {
    log.info('power command', { capsulId: id, command });
    assertCapsulId(id);
    const state = await this.domstate(id);
    if (state === null) throw new HypervisorError(`no capsul ${id} on this host`, 'not_found');
    const running = toVmState(state) === 'running';
    switch (command) {
      case 'start':
        if (!running) {
          await this.addConsoles(id, log);
          await this.virsh(['start', id]);
        }
        break;
      case 'forceStop':
        if (state !== 'shut off') await this.virsh(['destroy', id]).catch(ignoreNotRunning);
        break;
      case 'stop':
        if (state === 'shut off') break;
        await this.virsh(['shutdown', id]).catch(ignoreNotRunning); // ACPI power button
        return (await this.settle(id, 'shut off', 3000)) ? 'stopped' : 'shutting_down';
      case 'restart':
        if (!running) throw new HypervisorError(`restart needs a running capsul; ${id} is ${toVmState(state)}`, 'precondition');
        await this.virsh(['reboot', id]);
        break;
    }
    return toVmState((await this.domstate(id)) ?? 'shut off');
  }

  /**
   * A domain defined before the consoles existed gets them before it starts (its serial port moves from a
   * plain file to the socket + log, VNC and a VGA device are added): redefined from its own inactive XML.
   * A failure here is logged and the start goes on (the console then says the domain needs redefining).
   */
  private async addConsoles(id: string, log: Logger): Promise<void> {
    try {
      const p = this.paths(id);
      const upgraded = withConsoles(await this.virsh(['dumpxml', '--inactive', id]), p);
      if (!upgraded) return;
      await writeFile(p.xml, upgraded, { mode: 0o644 });
      await this.virsh(['define', p.xml]);
      log.info('domain redefined with its serial and graphical consoles', { capsulId: id });
    } catch (err) {
      log.warn('could not add the consoles to a domain defined before them; starting it as it is', { capsulId: id, err });
    }
  }

  /** Waits a little for a state, without making the caller wait past its own deadline. */
  private async settle(id: string, want: string, withinMs: number): Promise<boolean> {
    const deadline = Date.now() + withinMs;
    while (Date.now() < deadline) {
      if ((await this.domstate(id)) === want) return true;
      await sleep(200);
    }
    return false;
  }

  async openSerial(id: string, historyMax: number): Promise<SerialPort> {
    assertCapsulId(id);
    const state = await this.domstate(id);
    if (state === null) throw new HypervisorError(`no capsul ${id} on this host`, 'not_found');
    if (toVmState(state) !== 'running') throw new HypervisorError(`capsul ${id} is ${toVmState(state)}: its console opens once it runs`, 'precondition');
    try {
      const p = this.paths(id);
      return await connectSerial(p.consoleSocket, () => tailFiles(p.consoleLogs, historyMax));
    } catch (err) {
      // Domains defined before the console existed log their serial port to a file and have no socket.
      throw new HypervisorError(`the serial console of ${id} cannot be reached (${errorMessage(err)}); a capsul defined before consoles existed gets one when it is next stopped and started`, 'precondition');
    }
  }

  async openGraphics(id: string): Promise<GraphicsPort> {
    assertCapsulId(id);
    const state = await this.domstate(id);
    if (state === null) throw new HypervisorError(`no capsul ${id} on this host`, 'not_found');
    if (toVmState(state) !== 'running') throw new HypervisorError(`capsul ${id} is ${toVmState(state)}: its screen shows once it runs`, 'precondition');
    // libvirt picks the socket's path at each start (<listen type="socket"/>): read it from the live XML.
    const socketPath = vncSocketPath(await this.virsh(['dumpxml', id]));
    if (!socketPath) throw new HypervisorError(`capsul ${id} has no graphical console on a local socket (a capsul defined before consoles existed gets one when it is next stopped and started)`, 'precondition');
    return connectGraphics(socketPath);
  }

  async serialHistory(id: string, max: number): Promise<Buffer> {
    assertCapsulId(id);
    return tailFiles(this.paths(id).consoleLogs, max);
  }

  async destroy(id: string, log: Logger = this.log): Promise<void> {
    assertCapsulId(id);
    const state = await this.domstate(id);
    if (state !== null) {
      if (state !== 'shut off') await this.virsh(['destroy', id]).catch(ignoreNotRunning);
      await this.virsh(['undefine', id]).catch((err) => {
        if (!(err instanceof CommandError && isNoSuchDomain(err.stderr))) throw err;
      });
    }
    // Every file of the capsul: its disk layers, seed, XML, console socket and logs, an unfinished change's.
    const files = (await readdir(this.cfg.disksDir)).filter((f) => f.startsWith(`${id}.`) || f.startsWith(`${id}-`));
    await Promise.all(files.map((f) => rm(path.join(this.cfg.disksDir, f), { force: true })));
    this.forget(id);
    log.info('capsul destroyed', { capsulId: id });
  }

  async size(id: string): Promise<CapsulSize | null> {
    assertCapsulId(id);
    return this.changes.size(id);
  }

  async snapshots(id: string): Promise<SnapshotOnHost[]> {
    assertCapsulId(id);
    return this.changes.snapshots(id);
  }

  async changeProblem(id: string, change: CapsulChange): Promise<string | null> {
    assertCapsulId(id);
    return this.changes.problem(id, change);
  }

  async applyChange(id: string, change: CapsulChange, log: Logger, recovering: false | { wasRunning: boolean }): Promise<ChangeOutcome> {
    assertCapsulId(id);
    log.info('change', { capsulId: id, kind: change.kind, recovering: !!recovering });
    return this.changes.apply(id, change, log, recovering);
  }
}

/**
 * Connects to a serial port's Unix socket, then reads the boot log (`readHistory`) before reading anything
 * from the socket: what QEMU prints from then on is queued in the socket (unread) and delivered by `onData`.
 * QEMU writes a byte to the socket before its log, so bytes queued in the socket while the log is read can
 * be in both: at most what the guest printed during that read (a few ms), shown twice, never lost.
 */
function connectSerial(socketPath: string, readHistory: () => Buffer): Promise<SerialPort> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(socketPath);
    socket.once('error', reject);
    socket.once('connect', () => {
      socket.off('error', reject);
      socket.pause();
      let history: Buffer;
      try {
        history = readHistory();
      } catch {
        history = Buffer.alloc(0); // no log (yet): nothing to show before the live bytes
      }
      let endListener: (reason: string) => void = () => {};
      let ended = false;
      const end = (reason: string) => {
        if (ended) return;
        ended = true;
        socket.destroy();
        endListener(reason);
      };
      socket.on('error', (err) => end(`the serial socket failed: ${err.message}`));
      socket.on('close', () => end('the capsul\'s serial port closed (it stopped?)'));
      resolve({
        simulated: false,
        history,
        write: (data) => void socket.write(data),
        // Always drained (VIRT.md: a client that does not read stalls the guest's serial output, and its log).
        onData: (listener) => void socket.on('data', listener).resume(),
        onEnd: (listener) => void (endListener = listener),
        close: () => end('closed'),
      });
    });
  });
}

/** The VNC server's Unix socket in a live domain XML (`<graphics type='vnc' socket='…'>`, or its `<listen type='socket' socket='…'>`). */
export function vncSocketPath(xml: string): string | null {
  const graphics = /<graphics\b[^>]*\btype=['"]vnc['"][^>]*>([\s\S]*?)<\/graphics>|<graphics\b[^>]*\btype=['"]vnc['"][^>]*\/>/.exec(xml);
  if (!graphics) return null;
  const attr = (tag: string) => /\bsocket=['"]([^'"]+)['"]/.exec(tag)?.[1] ?? null;
  const listen = graphics[1] ? /<listen\b[^>]*\btype=['"]socket['"][^>]*>/.exec(graphics[1]) : null;
  const path = (listen ? attr(listen[0]) : null) ?? attr(graphics[0].slice(0, graphics[0].indexOf('>') + 1));
  return path ? path.replace(/&amp;/g, '&').replace(/&apos;/g, "'").replace(/&quot;/g, '"') : null;
}

/** Connects to QEMU's VNC server on its Unix socket: raw RFB bytes, both ways. */
function connectGraphics(socketPath: string): Promise<GraphicsPort> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(socketPath);
    socket.once('error', (err) => reject(new HypervisorError(`the graphical console cannot be reached: ${err.message}`, 'failed')));
    socket.once('connect', () => {
      socket.removeAllListeners('error');
      socket.pause();
      let endListener: (reason: string) => void = () => {};
      let ended = false;
      const end = (reason: string) => {
        if (ended) return;
        ended = true;
        socket.destroy();
        endListener(reason);
      };
      socket.on('error', (err) => end(`the graphical console's socket failed: ${err.message}`));
      socket.on('close', () => end("the capsul's graphical console closed (it stopped?)"));
      resolve({
        write: (data) => void socket.write(data),
        onData: (listener) => void socket.on('data', listener).resume(),
        onEnd: (listener) => void (endListener = listener),
        pause: () => void socket.pause(),
        resume: () => void socket.resume(),
        close: () => end('closed'),
      });
    });
  });
}

/** sun_path is 108 bytes with its terminating NUL. */
const MAX_SOCKET_PATH = 107;

function ignoreNotRunning(err: unknown): void {
  if (err instanceof CommandError && isNotRunning(err.stderr)) return;
  throw err;
}
