// Which hosts exist and which are online. The answer is read from the database at most once a second and
// shared: a fan-out, a create or a spoke's call would otherwise spend a database round trip on it every time,
// and a second's staleness only means a host that just went silent is asked once more (and answers within
// the per-host deadline). Changes made through this hub forget the snapshot at once (hostsChanged), and
// heartbeats that come here update it in place (hostHeard).
import { env } from '~/env';
import { processSingleton } from '~/lib/process-singleton';
import type { Db } from '../db/client';

/** A host is online while its last successful heartbeat is within the online window. */
export function onlineSince(now = Date.now()): Date {
  return new Date(now - env().ONLINE_WINDOW_MS);
}

// With each host's token material: what the `spoke.*` check compares, and what the hub's tokens are derived from.
type HostRow = {
  id: string;
  httpsUrl: string;
  lastHealthCheck: Date | null;
  tokenHash: string;
  previousTokenHash: string | null;
  previousTokenUntil: Date | null;
  hubTokenSalt: string;
  previousHubTokenSalt: string | null;
  previousHubTokenUntil: Date | null;
};

/** Online: heard from (a successful heartbeat) since `since`, which is `onlineSince()` unless given. */
export function isOnline(h: { lastHealthCheck: Date | null }, since = onlineSince()): boolean {
  return !!h.lastHealthCheck && h.lastHealthCheck >= since;
}
const FRESH_MS = 1000;
const HOST_COLUMNS = {
  id: true,
  httpsUrl: true,
  lastHealthCheck: true,
  tokenHash: true,
  previousTokenHash: true,
  previousTokenUntil: true,
  hubTokenSalt: true,
  previousHubTokenSalt: true,
  previousHubTokenUntil: true,
} as const;
const holder = processSingleton('hostSnapshot', () => ({ snapshot: undefined as { at: number; rows: Promise<HostRow[]> } | undefined }));

/** Every host not removed, with its last heartbeat; from a snapshot at most a second old. */
export function knownHosts(db: Db): Promise<HostRow[]> {
  const cached = holder.snapshot;
  if (cached && Date.now() - cached.at < FRESH_MS) return cached.rows;
  const rows = db.host.findMany({ where: { removedAt: null }, select: HOST_COLUMNS, orderBy: { id: 'asc' } });
  holder.snapshot = { at: Date.now(), rows };
  rows.catch(() => {
    if (holder.snapshot?.rows === rows) holder.snapshot = undefined;
  });
  return rows;
}

/** Forget the snapshot: after a host is added, changed or removed. */
export function hostsChanged(): void {
  holder.snapshot = undefined;
}

/**
 * After a heartbeat this hub recorded: the snapshot takes its time at once, so it is as fresh as the database
 * for every heartbeat that comes here (a host seconds from the edge of the online window is not pushed over
 * it by the snapshot's age). A host the snapshot lacks makes it read again.
 */
export function hostHeard(hostId: string, at: Date): void {
  const cached = holder.snapshot;
  if (!cached) return;
  void cached.rows.then(
    (rows) => {
      const row = rows.find((h) => h.id === hostId);
      if (row) row.lastHealthCheck = at;
      else if (holder.snapshot === cached) hostsChanged();
    },
    () => undefined,
  );
}

export async function hostsByState(db: Db) {
  const since = onlineSince();
  let all = await knownHosts(db);
  // A host the snapshot shows offline (or no host at all) may have come online through another hub in the
  // last second: look again before leaving it out. Normally every host is online and this costs nothing.
  if (all.length === 0 || all.some((h) => !isOnline(h, since))) {
    hostsChanged();
    all = await knownHosts(db);
  }
  return {
    online: all.filter((h) => isOnline(h, since)).map(({ id, httpsUrl }) => ({ id, httpsUrl })),
    offline: all.filter((h) => !isOnline(h, since)).map((h) => ({ hostId: h.id, lastHealthCheck: h.lastHealthCheck })),
  };
}

export async function onlineHosts(db: Db) {
  return (await hostsByState(db)).online;
}

/** What each online host said it could still give capsuls and which images it has, with its last heartbeat (a
 * read of the database only). */
export async function heardCapacity(db: Db) {
  return db.host.findMany({
    where: { removedAt: null, lastHealthCheck: { gte: onlineSince() } },
    select: { id: true, freeMemoryMb: true, freeDiskGb: true, lastHealthCheck: true, images: true },
    orderBy: { id: 'asc' },
  });
}
