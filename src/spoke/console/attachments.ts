// One attachment per capsul, shared by all its viewers: a QEMU serial socket serves one client at a time
// (VIRT.md), so the spoke opens the port once, drains it always, and copies what it prints to every viewer.
// Keystrokes from any viewer go to the port. The last viewer leaving closes the port.
//
// History without a seam: the port's own history (the boot log up to its first live byte) and everything the
// port printed since are kept together (bounded), with the count of live bytes seen. A viewer joins in one
// synchronous step: it is given the last HISTORY_BYTES of that, and from then on each live byte as it comes,
// so what it sees is the line's output once, with nothing missing or doubled between history and live.
import { HISTORY_BYTES } from '~/contract/console';
import type { Logger } from '~/lib/log';
import { HypervisorError, type Hypervisor, type SerialPort } from '../hypervisor/types';

export type Viewer = {
  send(data: Buffer): void;
  /** Bytes sent to it and not yet written out (its socket's buffer). */
  backlog?(): number;
  /** The port went away; the viewer is told why and closed. */
  end(reason: string): void;
};

type Attachment = {
  port: SerialPort;
  viewers: Set<Viewer>;
  /** The last bytes of the line's output (boot log, then live), between HISTORY_BYTES and 2×HISTORY_BYTES once full. */
  tail: Buffer[];
  tailBytes: number;
  /** Live bytes the port delivered since it opened (the offset at which a joining viewer's live bytes start). */
  seq: number;
  /** Why the port went away, once it has. */
  ended?: string;
};

export type Joined = {
  simulated: boolean;
  /** The line's last bytes up to `offset`; what `viewer.send` gets from now on follows them exactly. */
  history: Buffer;
  offset: number;
  write: (data: Buffer) => void;
  leave: () => void;
};

const CONGESTED_BYTES = 256 * 1024;

export class ConsoleAttachments {
  private readonly attached = new Map<string, Promise<Attachment>>();

  constructor(
    private readonly hypervisor: Hypervisor,
    private readonly log: Logger,
  ) {}

  /** How many capsuls have an attachment, and how many viewers in all (metrics, tests). */
  counts(): { capsuls: number; viewers: number } {
    return { capsuls: this.attached.size, viewers: [...this.viewerCounts.values()].reduce((a, b) => a + b, 0) };
  }

  private readonly viewerCounts = new Map<string, number>();

  /**
   * Adds a viewer to the capsul's attachment, opening its port if it has none. Throws what `openSerial`
   * throws (not_found, precondition). Returns the history up to the viewer's first live byte, the port's
   * writer and the viewer's leave.
   */
  async join(id: string, viewer: Viewer): Promise<Joined> {
    let pending = this.attached.get(id);
    if (!pending) {
      pending = this.open(id);
      this.attached.set(id, pending);
      pending.catch(() => this.attached.get(id) === pending && this.attached.delete(id));
    }
    const attachment = await pending;
    if (attachment.ended !== undefined) throw new HypervisorError(attachment.ended, 'precondition');
    // One synchronous step: the history as of now, and the viewer added for every byte after it.
    const whole = Buffer.concat(attachment.tail);
    const history = whole.subarray(Math.max(0, whole.length - HISTORY_BYTES));
    attachment.tail = [whole];
    attachment.viewers.add(viewer);
    this.viewerCounts.set(id, attachment.viewers.size);
    let left = false;
    return {
      simulated: attachment.port.simulated,
      history,
      offset: attachment.seq,
      write: (data) => attachment.port.write(data),
      leave: () => {
        if (left) return;
        left = true;
        attachment.viewers.delete(viewer);
        this.viewerCounts.set(id, attachment.viewers.size);
        if (attachment.viewers.size === 0 && this.attached.get(id) === pending) {
          this.attached.delete(id);
          this.viewerCounts.delete(id);
          attachment.port.close();
          this.log.info('console detached: no viewer left', { capsulId: id });
        }
      },
    };
  }

  /** Ends every attachment (the spoke is stopping). */
  async closeAll(reason: string): Promise<void> {
    const all = await Promise.allSettled([...this.attached.values()]);
    this.attached.clear();
    this.viewerCounts.clear();
    for (const a of all) {
      if (a.status !== 'fulfilled') continue;
      for (const viewer of a.value.viewers) viewer.end(reason);
      a.value.port.close();
    }
  }

  private async open(id: string): Promise<Attachment> {
    const port = await this.hypervisor.openSerial(id, HISTORY_BYTES);
    const attachment: Attachment = { port, viewers: new Set(), tail: [port.history], tailBytes: port.history.length, seq: 0 };
    port.onData((data) => {
      attachment.seq += data.length;
      attachment.tail.push(data);
      attachment.tailBytes += data.length;
      if (attachment.tailBytes > 2 * HISTORY_BYTES) {
        const whole = Buffer.concat(attachment.tail);
        attachment.tail = [whole.subarray(whole.length - HISTORY_BYTES)];
        attachment.tailBytes = HISTORY_BYTES;
      }
      for (const viewer of attachment.viewers) viewer.send(data);
    });
    // Behind: a viewer with more than this unsent (a simulated bulk print waits; a real line is slower than this).
    port.setCongestion?.(() => [...attachment.viewers].some((v) => (v.backlog?.() ?? 0) > CONGESTED_BYTES));
    port.onEnd((reason) => {
      attachment.ended = reason;
      const current = this.attached.get(id);
      void current?.then((a) => {
        if (a === attachment) {
          this.attached.delete(id);
          this.viewerCounts.delete(id);
        }
      });
      for (const viewer of attachment.viewers) viewer.end(reason);
      attachment.viewers.clear();
    });
    this.log.info('console attached', { capsulId: id, simulated: port.simulated });
    return attachment;
  }
}
