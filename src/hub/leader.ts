// Periodic work (heartbeats, the reaper, reconciliation, retention) runs in one hub at a time, whichever holds
// a PostgreSQL session advisory lock. The lock lives as long as the dedicated connection that took it: when
// the leading hub stops or loses its database, the lock is released and another hub takes over within one
// retry period. On the embedded database there is one hub by construction.
//
// One loop, written as one `while`: connect, try the lock, hold it until the connection goes, wait a
// period, again. A dropped connection makes pg emit `error` and then `end` (or only one of them, in either
// order); each client's events only settle that client's own "gone" promise, once, so neither a second
// event nor a late one from a client already replaced can start a second loop or stop the current work.
import os from 'node:os';
import pg from 'pg';
import { errorMessage, type Logger } from '~/lib/log';
import { gauge } from '~/lib/metrics';

export const LEADER_LOCK_KEY = 0x43617073; // "Caps"

/** The leader connection's name in pg_stat_activity, for operators (PostgreSQL keeps 63 bytes of it). */
export function leaderApplicationName(pid = process.pid, host = os.hostname()): string {
  return `capsul-leader ${pid}@${host}`;
}

const leaderGauge = gauge('capsul_leader', 'Whether this hub holds the leader lock and runs the periodic work (1) or not (0)');
const loopsGauge = gauge('capsul_leader_loops', 'Leadership loops running in this hub (trying for the lock or holding it); 1 while the hub runs');

export function leadWhileHoldingLock(opts: {
  databaseUrl?: string;
  retryMs: number;
  log: Logger;
  /** Starts the work; returns how to stop it. */
  lead: () => () => void;
}): { stop(): Promise<void>; isLeader(): boolean } {
  if (!opts.databaseUrl) {
    const stopWork = opts.lead();
    leaderGauge.set(1);
    loopsGauge.set(1);
    return {
      isLeader: () => true,
      async stop() {
        stopWork();
        leaderGauge.set(0);
        loopsGauge.set(0);
      },
    };
  }
  const databaseUrl = opts.databaseUrl;
  let leading = false;
  let current: pg.Client | undefined;
  let stopped = false;
  let wake!: () => void;
  const stopping = new Promise<'stopped'>((resolve) => (wake = () => resolve('stopped')));

  /** One connection: take the lock if free, and run the work until the connection goes or the hub stops. */
  const holdOnce = async () => {
    const client = new pg.Client({ connectionString: databaseUrl, connectionTimeoutMillis: 5000, application_name: leaderApplicationName() });
    let gone!: (why: string) => void;
    const lost = new Promise<string>((resolve) => (gone = resolve));
    client.on('error', (err) => gone(errorMessage(err)));
    client.on('end', () => gone('connection ended'));
    current = client;
    let stopWork: (() => void) | undefined;
    try {
      await client.connect();
      const { rows } = await client.query<{ locked: boolean }>('SELECT pg_try_advisory_lock($1) AS locked', [LEADER_LOCK_KEY]);
      if (!rows[0]?.locked || stopped) return;
      stopWork = opts.lead();
      leading = true;
      leaderGauge.set(1);
      opts.log.info('leader: this hub runs the periodic work (heartbeats, reaper, reconciliation, retention)', {
        applicationName: leaderApplicationName(),
        backendPid: (client as pg.Client & { processID?: number }).processID,
      });
      const why = await Promise.race([lost, stopping]);
      if (why !== 'stopped') opts.log.warn('leader: lost the lock; periodic work stops here, trying again', { why, retryMs: opts.retryMs });
    } catch (err) {
      opts.log.debug('leader: could not try the lock', { err: errorMessage(err) });
    } finally {
      leading = false;
      leaderGauge.set(0);
      stopWork?.();
      current = undefined;
      await client.end().catch(() => {});
    }
  };

  const loop = async () => {
    loopsGauge.inc();
    try {
      while (!stopped) {
        await holdOnce();
        if (stopped) break;
        let timer: NodeJS.Timeout | undefined;
        await Promise.race([new Promise((r) => (timer = setTimeout(r, opts.retryMs))), stopping]);
        clearTimeout(timer);
      }
    } finally {
      loopsGauge.dec();
    }
  };
  leaderGauge.set(0);
  const running = loop();

  return {
    isLeader: () => leading,
    async stop() {
      stopped = true;
      wake();
      // A connect still out would otherwise hold the stop up to its timeout.
      void current?.end().catch(() => {});
      await running;
    },
  };
}
