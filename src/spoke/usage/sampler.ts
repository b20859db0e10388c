// Usage sampling on a spoke: every USAGE_SAMPLE_PERIOD_MS the driver's counters, a point from them and the
// sample before (rates.ts), queued and sent to the hub with `spoke.reportUsage`, one call at a time. Nothing
// else on the spoke waits for this: a stalled hub holds up only the queue (bounded, oldest points dropped),
// and the hub client's deadline ends each call. It never throws.
import { USAGE_POINTS_PER_BATCH, type UsagePoint } from '~/contract/usage';
import { errorMessage, type Logger } from '~/lib/log';
import { trpcErrorCode } from '~/lib/trpc-errors';
import type { UsageCounters } from './counters';
import { usagePoint } from './rates';

/** How long capsuls the hub said are not this host's are left out of the points (they may move here later). */
const NOT_OURS_MS = 10 * 60_000;
/** FORBIDDEN answers one flush follows with a resend before it waits for the next sample. */
const RESENDS = 3;
const CAPSUL_IDS = /capsul-[a-z0-9]{10}/g;

export type UsageSamplerOptions = {
  counters: () => Promise<UsageCounters>;
  send: (points: UsagePoint[]) => Promise<unknown>;
  periodMs: number;
  log: Logger;
  notOursMs?: number;
};

export class UsageSampler {
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  private sampling = false;
  private sending: Promise<void> | undefined;
  private previous: UsageCounters | undefined;
  private queue: UsagePoint[] = [];
  /** Capsul id → until when (Date.now()) it is left out. */
  private readonly notOurs = new Map<string, number>();
  private failingToSample = false;
  private failingToSend = false;
  /** The newest sample and the point made with it (null for the first): what /metrics shows. */
  latest: { counters: UsageCounters; point: UsagePoint | null } | undefined;

  constructor(private readonly opts: UsageSamplerOptions) {}

  /** The first sample at once (it gives no point, only the start of the first interval), then every period. */
  start(): void {
    void this.sample();
    this.timer = setInterval(() => void this.sample(), this.opts.periodMs);
    this.timer.unref();
  }

  stop(): void {
    this.stopped = true;
    clearInterval(this.timer);
  }

  /** Points waiting to be sent. */
  get queued(): readonly UsagePoint[] {
    return this.queue;
  }

  /** One sample: its point queued, and the queue sent unless a send is in flight. Skipped while one runs. */
  async sample(): Promise<void> {
    if (this.sampling || this.stopped) return;
    this.sampling = true;
    try {
      const counters = await this.opts.counters();
      const point = usagePoint(this.previous, counters);
      this.previous = counters;
      this.latest = { counters, point };
      if (point) this.enqueue(point);
      if (this.failingToSample) this.opts.log.info('usage: sampling works again');
      this.failingToSample = false;
    } catch (err) {
      if (!this.failingToSample) this.opts.log.warn('usage: sampling failed; trying again each period', { err });
      this.failingToSample = true;
    } finally {
      this.sampling = false;
    }
    void this.flush();
  }

  /** Sends what is queued; resolves when the send (and the resends it needed) ended, or at once if one is in flight. */
  flush(): Promise<void> {
    if (this.sending || this.stopped || !this.queue.length) return this.sending ?? Promise.resolve();
    this.sending = (async () => {
      for (let attempt = 0; attempt <= RESENDS && this.queue.length && !this.stopped; attempt++) {
        if ((await this.deliver(this.queue.slice())) === 'done') break;
      }
    })().finally(() => (this.sending = undefined));
    return this.sending;
  }

  private enqueue(point: UsagePoint): void {
    const now = Date.now();
    for (const [id, until] of this.notOurs) if (until <= now) this.notOurs.delete(id);
    this.queue.push(this.notOurs.size ? { ...point, capsuls: point.capsuls.filter((c) => !this.notOurs.has(c.id)) } : point);
    if (this.queue.length > USAGE_POINTS_PER_BATCH) this.queue.splice(0, this.queue.length - USAGE_POINTS_PER_BATCH);
  }

  private drop(batch: UsagePoint[]): void {
    const sent = new Set(batch);
    this.queue = this.queue.filter((p) => !sent.has(p));
  }

  private async deliver(batch: UsagePoint[]): Promise<'done' | 'resend'> {
    const { log } = this.opts;
    try {
      await this.opts.send(batch);
      this.drop(batch);
      if (this.failingToSend) log.info('usage: the hub takes usage points again');
      this.failingToSend = false;
      return 'done';
    } catch (err) {
      const code = trpcErrorCode(err);
      if (code === 'FORBIDDEN') return this.leaveOut(batch, err);
      if (code === 'BAD_REQUEST') {
        this.drop(batch);
        log.warn('usage: the hub refused a batch of usage points as malformed; dropped', { points: batch.length, err });
        return 'done';
      }
      if (!this.failingToSend) log.warn('usage: the hub did not take usage points; keeping them and trying again', { queued: this.queue.length, err });
      this.failingToSend = true;
      return 'done';
    }
  }

  /** FORBIDDEN names the capsuls that are not this host's: they are left out for a while and the rest resent. */
  private leaveOut(batch: UsagePoint[], err: unknown): 'done' | 'resend' {
    const ids = new Set(errorMessage(err).match(CAPSUL_IDS) ?? []);
    const named = batch.some((p) => p.capsuls.some((c) => ids.has(c.id)));
    if (!named) {
      // Sending it again would be refused again.
      this.drop(batch);
      this.opts.log.warn('usage: the hub refused a batch of usage points naming no capsul in it; dropped', { points: batch.length, err });
      return 'done';
    }
    const until = Date.now() + (this.opts.notOursMs ?? NOT_OURS_MS);
    for (const id of ids) this.notOurs.set(id, until);
    this.queue = this.queue.map((p) => ({ ...p, capsuls: p.capsuls.filter((c) => !ids.has(c.id)) }));
    this.opts.log.warn('usage: the hub says these capsuls are not this host\'s; leaving them out of usage points for a while', { capsulIds: [...ids] });
    return 'resend';
  }
}
