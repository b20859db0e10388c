// Retention: the tables the hub writes on every read and every sign-in stay bounded. Run by the leading hub
// (housekeeping.ts).
// - Successful reads (`list`, `capacityAvailable`, `get`) go once older than the reads window, with their
//   HostOperation rows (a cascade). Creates, destroys, power actions (`vmState`) and every operation that did
//   not complete (pending, assigned, failed, conflict) stay forever: they are the audit trail.
// - Expired sessions go; sign-in links go once spent (used or expired) and outside the rate limit's window.
// - Console tickets go once used (the session's record is its `console` operation, kept), or a day after they
//   expired unused (the reaper has failed their operation by then).
// - Drift reports go once older than their window, except the newest, which the drift page shows.
// Each table is emptied in batches of one short statement each, so a run never holds many locks for long.
import type { Prisma } from '~/generated/prisma/client';
import { RATE_LIMIT_WINDOW_MS } from '../auth/login';
import type { Db } from '../db/client';

export const READ_KINDS = ['list', 'capacityAvailable', 'get'] as const;
const BATCH = 1000;

export type RetentionWindows = { readsMs: number; reconciliationsMs: number };
export type Pruned = { reads: number; sessions: number; loginTokens: number; consoleTickets: number; reconciliations: number };
const DAY_MS = 24 * 3600 * 1000;

export async function pruneOldRows(db: Db, windows: RetentionWindows, opts: { now?: Date; batchSize?: number } = {}): Promise<Pruned> {
  const now = opts.now ?? new Date();
  const batch = opts.batchSize ?? BATCH;
  const ago = (ms: number) => new Date(now.getTime() - ms);

  const reads: Prisma.OperationWhereInput = { kind: { in: [...READ_KINDS] }, state: 'completed', createdAt: { lt: ago(windows.readsMs) } };
  const sessions: Prisma.SessionWhereInput = { expiresAt: { lt: now } };
  const loginTokens: Prisma.LoginTokenWhereInput = {
    createdAt: { lt: ago(RATE_LIMIT_WINDOW_MS) },
    OR: [{ usedAt: { not: null } }, { expiresAt: { lt: now } }],
  };
  const consoleTickets: Prisma.ConsoleTicketWhereInput = { OR: [{ usedAt: { not: null } }, { expiresAt: { lt: ago(DAY_MS) } }] };
  const newest = await db.reconciliation.findFirst({ orderBy: { startedAt: 'desc' }, select: { id: true } });
  const reconciliations: Prisma.ReconciliationWhereInput = { startedAt: { lt: ago(windows.reconciliationsMs) }, ...(newest ? { id: { not: newest.id } } : {}) };

  // Each delete repeats its condition, so a row that changed since it was picked stays.
  return {
    reads: await inBatches(
      batch,
      (take) => db.operation.findMany({ where: reads, select: { id: true }, take }),
      (ids) => db.operation.deleteMany({ where: { AND: [reads, { id: { in: ids } }] } }),
    ),
    sessions: await inBatches(
      batch,
      (take) => db.session.findMany({ where: sessions, select: { id: true }, take }),
      (ids) => db.session.deleteMany({ where: { AND: [sessions, { id: { in: ids } }] } }),
    ),
    loginTokens: await inBatches(
      batch,
      (take) => db.loginToken.findMany({ where: loginTokens, select: { id: true }, take }),
      (ids) => db.loginToken.deleteMany({ where: { AND: [loginTokens, { id: { in: ids } }] } }),
    ),
    consoleTickets: await inBatches(
      batch,
      (take) => db.consoleTicket.findMany({ where: consoleTickets, select: { id: true }, take }),
      (ids) => db.consoleTicket.deleteMany({ where: { AND: [consoleTickets, { id: { in: ids } }] } }),
    ),
    reconciliations: await inBatches(
      batch,
      (take) => db.reconciliation.findMany({ where: reconciliations, select: { id: true }, take }),
      (ids) => db.reconciliation.deleteMany({ where: { AND: [reconciliations, { id: { in: ids } }] } }),
    ),
  };
}

/** Picks up to `size` rows and deletes them, until a pick finds fewer than `size`; returns how many went. */
async function inBatches(
  size: number,
  pick: (take: number) => Promise<{ id: string }[]>,
  remove: (ids: string[]) => Promise<{ count: number }>,
): Promise<number> {
  let total = 0;
  for (;;) {
    const ids = (await pick(size)).map((r) => r.id);
    if (ids.length) total += (await remove(ids)).count;
    if (ids.length < size) return total;
  }
}
