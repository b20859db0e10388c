// The boundary between the spoke's protocol work and the machine: the router and the claim logic know only
// this interface; the `libvirt` and `fake` drivers implement it.
import type { VmCommand, VmState } from '~/contract/capsul';
import type { ImagesOnHost } from '~/contract/hub';
import type { CapsulDetail, CreateInput, DriverName, ImageFiles } from '~/contract/spoke';
import type { BuildStep } from '~/contract/hub';
import type { CapsulChange, SnapshotOnHost } from '~/contract/change';
import type { Logger } from '~/lib/log';
import type { UsageCounters } from '../usage/counters';

/** Called by a driver as a build reaches each step; it returns at once and never throws. */
export type Progress = (step: BuildStep) => void;

export type HostResources = { freeMemoryMb: number; freeDiskGb: number };
/** What `resources` measured, and which capsuls it already counted (those defined on the host). */
export type MeasuredResources = HostResources & { counted: ReadonlySet<string> };

/**
 * A capsul's first serial port, opened for the spoke's one attachment (src/spoke/console/): a QEMU serial
 * socket serves one client at a time, so the spoke opens it once and shares it among viewers.
 */
export type SerialPort = {
  /** The fake driver's simulated console, said plainly to viewers. */
  readonly simulated: boolean;
  /**
   * The boot log up to this port's first live byte (at most the `historyMax` asked for): read when the port
   * opened, before anything it prints can be delivered, so history + what `onData` delivers is the line's
   * output without a gap. (libvirt: what QEMU prints in the few ms between connecting to the socket and
   * reading the log can be in both, shown twice, never lost.)
   */
  readonly history: Buffer;
  write(data: Buffer): void;
  /** Everything the port prints, as it comes (the listener must not block: the port is always drained). */
  onData(listener: (data: Buffer) => void): void;
  /** The port went away (the guest stopped, the socket closed); called once. */
  onEnd(listener: (reason: string) => void): void;
  /**
   * Told when the viewers are behind. A real port ignores it (the attachment always drains QEMU's socket,
   * whose line is slow); the simulated one holds a bulk print until they catch up.
   */
  setCongestion?(congested: () => boolean): void;
  close(): void;
};

/** A connection to the capsul's graphical console (QEMU's VNC server on a local Unix socket): RFB bytes. */
export type GraphicsPort = {
  write(data: Buffer): void;
  onData(listener: (data: Buffer) => void): void;
  onEnd(listener: (reason: string) => void): void;
  /** Stops reading (the viewer is behind) and starts again. */
  pause(): void;
  resume(): void;
  close(): void;
};

/** What a capsul has on its host: what a resize grows from. */
export type CapsulSize = { vcpus: number; memoryMb: number; diskGb: number };

/** How a change ended: the capsul as it is now, its snapshots, and for a snapshot of a running guest its pause. */
export type ChangeOutcome = CapsulDetail & { snapshots: SnapshotOnHost[]; pausedMs?: number };

export interface Hypervisor {
  readonly driver: DriverName;
  /** Memory and disk this host can still give to new capsuls (before the spoke's own reservations). */
  resources(): Promise<MeasuredResources>;
  /** Which images this host has (sent with each heartbeat, so the hub can tell people before they create). */
  images(): Promise<ImagesOnHost>;
  /** Why this host cannot boot the image, or null when it can. */
  imageProblem(image: string, files: ImageFiles): Promise<string | null>;
  /** Whether a domain of this name exists (capsul or not). */
  exists(id: string): Promise<boolean>;
  list(): Promise<CapsulDetail[]>;
  get(id: string): Promise<CapsulDetail | null>;
  /**
   * Builds and boots the capsul; resolves once it runs and has an address. Cleans up after itself on failure.
   * Calls `progress` at each step: disk, seed, defined, booting, address.
   */
  create(spec: CreateInput, log: Logger, progress?: Progress): Promise<CapsulDetail>;
  /**
   * Finishes a create an earlier run of the spoke began (a restart or a crash mid-build): reuses the domain
   * when it is defined (starting it if it is not running), builds it again from the start when it is not.
   * Resolves once it runs and has an address. When the hypervisor cannot say whether the domain is there, it
   * throws a HypervisorError of kind `unavailable` (never guessing "gone").
   */
  resume(spec: CreateInput, log: Logger, progress?: Progress): Promise<CapsulDetail>;
  setState(id: string, command: VmCommand, log?: Logger): Promise<VmState>;
  /**
   * Opens the capsul's first serial port. HypervisorError `not_found` for no such capsul, `precondition` when
   * it is not running (no port to open). The port's `history` holds up to `historyMax` bytes of boot log.
   */
  openSerial(id: string, historyMax: number): Promise<SerialPort>;
  /**
   * Connects to the capsul's graphical console (one connection per viewer: QEMU's VNC server takes several).
   * HypervisorError `not_found`, `precondition` (not running, or no graphics in its domain), `unsupported`
   * (the fake driver has none).
   */
  openGraphics(id: string): Promise<GraphicsPort>;
  /** The last `max` bytes of the capsul's boot log (what its serial port printed, across reboots); empty if none. */
  serialHistory(id: string, max: number): Promise<Buffer>;
  /** Idempotent: a capsul that is not there is already destroyed (with its snapshots). */
  destroy(id: string, log?: Logger): Promise<void>;
  /** The capsul's vCPUs, memory and disk as its host has them; null when there is no such capsul. */
  size(id: string): Promise<CapsulSize | null>;
  /** Its snapshots on this host, oldest first. */
  snapshots(id: string): Promise<SnapshotOnHost[]>;
  /**
   * Why this change cannot start now, said before it is accepted (no such capsul, a smaller size, no such
   * snapshot, an image this host lacks); null when it can. Room is the spoke's to check (its reservations).
   */
  changeProblem(id: string, change: CapsulChange): Promise<string | null>;
  /**
   * Makes the change; resolves once it is done and the capsul is back in the state it was in (a running
   * capsul running again, with its address). On failure it leaves the capsul usable (its previous disk, or the
   * new one complete) and throws a HypervisorError saying which step failed. With `recovering`, an earlier run
   * of the spoke was stopped in the middle of this change: it finishes the change from what that run left, or
   * puts the capsul back as it was and throws saying so; `wasRunning` says whether the capsul ran when the
   * change began (the earlier run may have stopped it), so it is left running again.
   */
  applyChange(id: string, change: CapsulChange, log: Logger, recovering: false | { wasRunning: boolean }): Promise<ChangeOutcome>;
  /**
   * Cumulative counters of every running capsul (CPU time, memory in use, network and disk bytes) and of the
   * host itself (CPU times, memory, the disks' filesystem), taken at one moment: the usage sampler's input.
   */
  usageCounters(): Promise<UsageCounters>;
}

/**
 * An error the spoke reports as such: a missing capsul, a state change that makes no sense, a step that
 * failed, or a hypervisor that did not answer at all (`unavailable`: it says nothing about the VM).
 */
export class HypervisorError extends Error {
  override name = 'HypervisorError';
  constructor(
    message: string,
    readonly kind: 'not_found' | 'precondition' | 'failed' | 'unavailable' | 'unsupported' = 'failed',
  ) {
    super(message);
  }
}
