// At most N tasks at once; the rest wait in order. Used where the hub holds a bounded pool of connections to
// a peer, so that waiting for a connection happens here, in the open, and not inside a call's deadline.
type Waiter = { go: () => void; fail: (err: unknown) => void };

export class Limiter {
  private running = 0;
  private readonly waiting: Waiter[] = [];

  constructor(readonly size: number) {}

  /** Runs `task` once a slot is free (at once when one is). */
  async run<T>(task: () => Promise<T>): Promise<T> {
    if (this.running >= this.size) await new Promise<void>((go, fail) => this.waiting.push({ go, fail }));
    this.running++;
    try {
      return await task();
    } finally {
      this.running--;
      this.waiting.shift()?.go();
    }
  }

  /** Every task still waiting for a slot fails with `err`; those running are not touched. */
  failWaiting(err: unknown): void {
    for (const w of this.waiting.splice(0)) w.fail(err);
  }
}
