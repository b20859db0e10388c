// Periodic work (heartbeats, the reaper, reconciliation) runs in one hub at a time, whichever holds a
// PostgreSQL session advisory lock. The lock lives as long as the dedicated connection that took it: when
// the leading hub stops or loses its database, the lock is released and another hub takes over within one
// retry period. On the embedded database there is one hub by construction.
import pg from 'pg';
import { errorMessage, type Logger } from '~/lib/log';

const LOCK_KEY = 0x43617073; // "Caps"

export function leadWhileHoldingLock(opts: {
  databaseUrl?: string;
  retryMs: number;
  log: Logger;
  /** Starts the work; returns how to stop it. */
  lead: () => () => void;
}): { stop(): Promise<void>; isLeader(): boolean } {
  if (!opts.databaseUrl) {
    const stopWork = opts.lead();
    return { stop: async () => stopWork(), isLeader: () => true };
  }
  let stopped = false;
  let client: pg.Client | undefined;
  let stopWork: (() => void) | undefined;
  let timer: NodeJS.Timeout | undefined;

  const lose = (why: string) => {
    if (stopWork) {
      opts.log.warn('leader: lost the lock; periodic work stops here', { why });
      stopWork();
      stopWork = undefined;
    }
    client?.end().catch(() => {});
    client = undefined;
    if (!stopped) timer = setTimeout(tryLead, opts.retryMs);
  };

  const tryLead = async () => {
    if (stopped) return;
    try {
      const c = new pg.Client({ connectionString: opts.databaseUrl, connectionTimeoutMillis: 5000 });
      c.on('error', (err) => lose(errorMessage(err)));
      await c.connect();
      client = c;
      const { rows } = await c.query<{ locked: boolean }>('SELECT pg_try_advisory_lock($1) AS locked', [LOCK_KEY]);
      if (!rows[0]?.locked) {
        await c.end();
        client = undefined;
        timer = setTimeout(tryLead, opts.retryMs);
        return;
      }
      c.on('end', () => lose('connection ended'));
      opts.log.info('leader: this hub runs the periodic work (heartbeats, reaper, reconciliation)');
      stopWork = opts.lead();
    } catch (err) {
      lose(errorMessage(err));
    }
  };
  void tryLead();

  return {
    isLeader: () => !!stopWork,
    async stop() {
      stopped = true;
      clearTimeout(timer);
      stopWork?.();
      stopWork = undefined;
      await client?.end().catch(() => {});
    },
  };
}
