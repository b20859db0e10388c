// One attachment per capsul, shared by all its viewers: a QEMU serial socket serves one client at a time
// (VIRT.md), so the spoke opens the port once, drains it always, and copies what it prints to every viewer.
// Keystrokes from any viewer go to the port. The last viewer leaving closes the port.
import type { Logger } from '~/lib/log';
import type { Hypervisor, SerialPort } from '../hypervisor/types';

export type Viewer = {
  send(data: Buffer): void;
  /** The port went away; the viewer is told why and closed. */
  end(reason: string): void;
};

type Attachment = { port: SerialPort; viewers: Set<Viewer> };

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
   * throws (not_found, precondition). Returns the port's writer and the viewer's leave.
   */
  async join(id: string, viewer: Viewer): Promise<{ simulated: boolean; write: (data: Buffer) => void; leave: () => void }> {
    let pending = this.attached.get(id);
    if (!pending) {
      pending = this.open(id);
      this.attached.set(id, pending);
      pending.catch(() => this.attached.get(id) === pending && this.attached.delete(id));
    }
    const attachment = await pending;
    attachment.viewers.add(viewer);
    this.viewerCounts.set(id, attachment.viewers.size);
    let left = false;
    return {
      simulated: attachment.port.simulated,
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
    const port = await this.hypervisor.openSerial(id);
    const attachment: Attachment = { port, viewers: new Set() };
    port.onData((data) => {
      for (const viewer of attachment.viewers) viewer.send(data);
    });
    port.onEnd((reason) => {
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
