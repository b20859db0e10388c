// Capsul changes between hubs on one PostgreSQL database: each change made here is sent with NOTIFY, and each
// hub LISTENs on a connection of its own and hands what other hubs sent to its subscribers (events.ts). With
// the embedded database there is one hub, and nothing to send.
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { z } from 'zod';
import { capsulId } from '~/contract/ids';
import type { Logger } from '~/lib/log';
import type { Db } from './db/client';
import { capsulChangedElsewhere, publishChangesWith } from './events';
import { publishSignOutsWith, sessionsEndedElsewhere } from './auth/session-events';

const CHANNEL = 'capsul_changes';
const message = z.object({ hub: z.string(), id: capsulId, ownerId: z.uuid() });
/** Sessions of an account ended on that hub (session-events.ts): consoles here check theirs again. */
const signedOut = z.object({ hub: z.string(), signedOut: z.uuid() });

export function startChangeFeed(opts: { db: Db; databaseUrl: string; retryMs: number; log: Logger }): { stop(): Promise<void> } {
  const self = randomUUID(); // this hub process: its own notifications come back to it, and are skipped
  let stopped = false;
  let client: pg.Client | undefined;
  let timer: NodeJS.Timeout | undefined;

  publishChangesWith((change) => {
    const payload = JSON.stringify({ hub: self, ...change });
    opts.db.$executeRaw`SELECT pg_notify(${CHANNEL}, ${payload})`.catch((err) => opts.log.warn('change feed: could not send a change to the other hubs', { err }));
  });

  publishSignOutsWith((accountId) => {
    const payload = JSON.stringify({ hub: self, signedOut: accountId });
    opts.db.$executeRaw`SELECT pg_notify(${CHANNEL}, ${payload})`.catch((err) => opts.log.warn('change feed: could not send a sign-out to the other hubs', { err }));
  });

  const listen = async () => {
    if (stopped) return;
    const c = new pg.Client({ connectionString: opts.databaseUrl, connectionTimeoutMillis: 5000, application_name: 'capsul-change-feed' });
    // pg reports a lost connection as `error` and then `end`: whichever comes first starts the one retry.
    let lost = false;
    const lose = (err: unknown) => {
      if (lost) return;
      lost = true;
      if (client === c) client = undefined;
      c.end().catch(() => {});
      if (stopped) return;
      opts.log.warn('change feed: lost its connection; listening again shortly', { err });
      timer = setTimeout(listen, opts.retryMs);
    };
    c.on('error', lose);
    c.on('end', () => lose(new Error('connection ended')));
    c.on('notification', (n) => {
      let payload: unknown;
      try {
        payload = JSON.parse(n.payload ?? 'null');
      } catch {
        return; // not one of ours: anyone who may connect to the database can NOTIFY on the channel
      }
      const parsed = message.safeParse(payload);
      if (parsed.success && parsed.data.hub !== self) capsulChangedElsewhere({ id: parsed.data.id, ownerId: parsed.data.ownerId });
      const out = signedOut.safeParse(payload);
      if (out.success && out.data.hub !== self) sessionsEndedElsewhere(out.data.signedOut);
    });
    try {
      await c.connect();
      await c.query(`LISTEN ${CHANNEL}`);
      client = c;
    } catch (err) {
      lose(err);
    }
  };
  void listen();

  return {
    async stop() {
      stopped = true;
      clearTimeout(timer);
      publishChangesWith(undefined);
      publishSignOutsWith(undefined);
      await client?.end().catch(() => {});
    },
  };
}
