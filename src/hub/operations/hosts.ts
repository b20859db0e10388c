import { env } from '~/env';
import type { Db } from '../db/client';

/** A host is online while its last successful heartbeat is within the online window. */
export function onlineSince(now = Date.now()): Date {
  return new Date(now - env().ONLINE_WINDOW_MS);
}

export function onlineHosts(db: Db) {
  return db.host.findMany({
    where: { lastHealthCheck: { gte: onlineSince() }, removedAt: null },
    select: { id: true, httpsUrl: true },
    orderBy: { id: 'asc' },
  });
}
