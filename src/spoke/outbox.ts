// Completions the hub has not acknowledged yet. Each is written to disk (write, fsync, rename) before the
// first attempt and removed only when the hub acknowledges it, so none is lost to a spoke restart or a hub
// that is down. Retries back off exponentially, capped, with jitter.
import { mkdir, readdir, readFile, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { completeInput, type CompleteInput } from '~/contract/hub';
import { writeFileAtomic } from '~/lib/atomic-write';
import { type Logger } from '~/lib/log';
import { outboxUnreadable } from './metrics';

/** What a delivery attempt ended in: acknowledged, or refused for good (kept aside for an operator). */
export type Delivery = 'acknowledged' | 'refused';

export function backoffMs(attempt: number, baseMs = 500, capMs = 30_000): number {
  const ceiling = Math.min(capMs, baseMs * 2 ** attempt);
  return Math.round(ceiling / 2 + Math.random() * (ceiling / 2));
}

export class Outbox {
  private readonly timers = new Map<string, NodeJS.Timeout>();
  private readonly inFlight = new Set<string>();
  private stopped = false;

  constructor(
    private readonly dir: string,
    private readonly deliver: (completion: CompleteInput) => Promise<Delivery>,
    private readonly log: Logger,
  ) {}

  /** Picks up what an earlier run left undelivered. */
  async start(): Promise<number> {
    await mkdir(path.join(this.dir, 'refused'), { recursive: true });
    const waiting = (await readdir(this.dir)).filter((f) => f.endsWith('.json'));
    for (const file of waiting) this.schedule(file.slice(0, -'.json'.length), 0, 0);
    if (waiting.length) this.log.info('outbox: resuming undelivered completions', { count: waiting.length });
    return waiting.length;
  }

  async add(completion: CompleteInput): Promise<void> {
    await writeFileAtomic(this.fileOf(completion.operationId), JSON.stringify(completion));
    this.schedule(completion.operationId, 0, 0);
  }

  pending(): number {
    return this.timers.size + this.inFlight.size;
  }

  /**
   * At shutdown: tries every waiting completion now and waits, up to `withinMs`, for those deliveries to end;
   * then stops. Returns how many are left (on disk: the next start delivers them).
   */
  async drain(withinMs: number): Promise<number> {
    const end = Date.now() + withinMs;
    for (const [operationId, timer] of this.timers) {
      clearTimeout(timer);
      this.timers.delete(operationId);
      void this.attempt(operationId, 0);
    }
    while (this.inFlight.size && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
    this.stop();
    return this.pending();
  }

  stop(): void {
    this.stopped = true;
    for (const timer of this.timers.values()) clearTimeout(timer);
    this.timers.clear();
  }

  private fileOf(operationId: string): string {
    return path.join(this.dir, `${operationId}.json`);
  }

  private schedule(operationId: string, attempt: number, delayMs: number): void {
    if (this.stopped || this.timers.has(operationId) || this.inFlight.has(operationId)) return;
    const timer = setTimeout(() => {
      this.timers.delete(operationId);
      void this.attempt(operationId, attempt);
    }, delayMs);
    this.timers.set(operationId, timer);
  }

  /**
   * The completion in an operation's file. A file that does not parse (not JSON, or not a completion) would
   * fail the same way on every retry: it is moved to outbox/unreadable for an operator, and reported.
   */
  private async read(operationId: string, log: Logger): Promise<CompleteInput | undefined> {
    const file = this.fileOf(operationId);
    const text = await readFile(file, 'utf8'); // a read that fails is retried, like a delivery
    try {
      return completeInput.parse(JSON.parse(text));
    } catch (err) {
      const aside = path.join(this.dir, 'unreadable', path.basename(file));
      await mkdir(path.dirname(aside), { recursive: true });
      await rename(file, aside);
      outboxUnreadable.inc();
      log.error('outbox: a completion file cannot be parsed; moved to outbox/unreadable for an operator', { file, movedTo: aside, err });
      return undefined;
    }
  }

  private async attempt(operationId: string, attempt: number): Promise<void> {
    this.inFlight.add(operationId);
    const log = this.log.child({ operationId });
    let retry = false;
    try {
      const completion = await this.read(operationId, log);
      if (!completion) return;
      const delivery = await this.deliver(completion);
      if (delivery === 'acknowledged') {
        await rm(this.fileOf(operationId), { force: true });
        log.info('completion acknowledged by the hub', { attempts: attempt + 1 });
      } else {
        await rename(this.fileOf(operationId), path.join(this.dir, 'refused', `${operationId}.json`));
        log.error('the hub refused the completion; kept in outbox/refused for an operator');
      }
    } catch (err) {
      retry = true;
      log.warn('completion not delivered yet; will retry', { attempt: attempt + 1, err });
    } finally {
      this.inFlight.delete(operationId);
    }
    if (retry) this.schedule(operationId, attempt + 1, backoffMs(attempt));
  }
}
