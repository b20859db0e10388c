// Console tickets: `console.ticket` mints one for a capsul its caller may reach; the console's WebSocket
// redeems it once, before it expires, from the session that minted it (or with the admin token, for one the
// admin token minted). Only the token's SHA-256 is stored, as with sign-in links. Each ticket comes with a
// `console` operation, written at minting (who, which capsul, from where) and finished when the session ends
// (how long, why it ended), or failed by `failUnusedTickets` when the ticket was never used.
import { TRPCError } from '@trpc/server';
import type { ConsoleKind } from '~/contract/console';
import { hashToken, newToken } from '~/lib/tokens';
import type { Db } from '../db/client';
import { countOperation } from '../metrics';
import { json } from '../operations/record';

/** A ticket is good this long after minting. */
export const TICKET_SECONDS = 60;
/** A live session touches its operation this often (the relay), so the reaper can tell it from an orphan. */
export const SESSION_HEARTBEAT_MS = 15_000;
/** A console operation untouched this long, whose ticket is past its expiry, has no hub holding it. */
export const ORPHAN_AFTER_MS = 4 * SESSION_HEARTBEAT_MS;

export type { ConsoleKind };

export type MintInput = {
  capsul: { id: string; hostId: string };
  /** The serial line, or the graphical console (VNC). */
  kind: ConsoleKind;
  actor: string;
  /** The minting session's cookie token; undefined with the admin token. */
  sessionToken: string | undefined;
  clientAddress: string;
};

export async function mintTicket(db: Db, input: MintInput): Promise<{ ticket: string; expiresAt: Date; operationId: string }> {
  const ticket = newToken();
  const now = new Date();
  const expiresAt = new Date(now.getTime() + TICKET_SECONDS * 1000);
  const [op] = await db.$transaction(async (tx) => {
    const operation = await tx.operation.create({
      data: {
        kind: 'console',
        actor: input.actor,
        state: 'assigned',
        payload: json({ id: input.capsul.id, from: input.clientAddress, console: input.kind }),
        capsulId: input.capsul.id,
        hostId: input.capsul.hostId,
        createdAt: now,
        hostOperations: { create: { hostId: input.capsul.hostId, assignmentStatus: 'assigned', assignedAt: now } },
      },
      select: { id: true },
    });
    await tx.consoleTicket.create({
      data: {
        tokenHash: hashToken(ticket),
        capsulId: input.capsul.id,
        sessionId: input.sessionToken ? hashToken(input.sessionToken) : null,
        actor: input.actor,
        operationId: operation.id,
        clientAddress: input.clientAddress,
        expiresAt,
      },
    });
    return [operation];
  });
  return { ticket, expiresAt, operationId: op!.id };
}

export type Redeemed = { capsulId: string; operationId: string; actor: string; clientAddress: string; kind: ConsoleKind };

/**
 * Uses a ticket, once. `sessionToken` is the redeeming browser's session cookie (undefined for the admin
 * token): it must be the session that minted the ticket. Throws UNAUTHORIZED for anything else, the same
 * answer whether the ticket is unknown, used, expired or another session's.
 */
export async function redeemTicket(db: Db, ticket: string, sessionToken: string | undefined): Promise<Redeemed> {
  const refused = new TRPCError({ code: 'UNAUTHORIZED', message: 'this console ticket has expired, was used already, or is not yours; open the console again' });
  if (!/^[A-Za-z0-9_-]{43}$/.test(ticket)) throw refused;
  const tokenHash = hashToken(ticket);
  const now = new Date();
  // Conditional update: of two concurrent uses of one ticket, only one changes the row.
  const used = await db.consoleTicket.updateMany({
    where: { tokenHash, usedAt: null, expiresAt: { gt: now }, sessionId: sessionToken ? hashToken(sessionToken) : null },
    data: { usedAt: now },
  });
  if (used.count !== 1) throw refused;
  const row = await db.consoleTicket.findUniqueOrThrow({ where: { tokenHash }, select: { capsulId: true, operationId: true, actor: true, clientAddress: true } });
  const op = await db.operation.findUnique({ where: { id: row.operationId }, select: { payload: true } });
  const kind = (op?.payload as { console?: unknown } | null)?.console === 'vnc' ? 'vnc' : 'serial';
  return { ...row, kind };
}

/** A live session's heartbeat: its operation's updatedAt moves (the reaper leaves it alone). */
export async function touchConsoleSession(db: Db, operationId: string): Promise<void> {
  await db.operation.updateMany({ where: { id: operationId, state: 'assigned' }, data: { updatedAt: new Date() } });
}

/**
 * Console operations no hub holds any more (the hub that held the session died or was killed, so nobody
 * recorded its end): still `assigned`, past their ticket's expiry, and untouched for ORPHAN_AFTER_MS while a
 * live session touches its operation every SESSION_HEARTBEAT_MS. Failed, saying so (run with the reaper).
 */
export async function failOrphanedSessions(db: Db, now = new Date()): Promise<number> {
  const where = {
    kind: 'console' as const,
    state: 'assigned' as const,
    createdAt: { lt: new Date(now.getTime() - TICKET_SECONDS * 1000) },
    updatedAt: { lt: new Date(now.getTime() - ORPHAN_AFTER_MS) },
  };
  const orphans = await db.operation.findMany({ where, select: { id: true }, take: 1000 });
  if (orphans.length === 0) return 0;
  const ids = orphans.map((o) => o.id);
  const reason = 'the hub holding this console session stopped before recording its end';
  const [failed] = await db.$transaction([
    db.operation.updateMany({ where: { ...where, id: { in: ids } }, data: { state: 'failed', error: reason, completedAt: now, reapedAt: now } }),
    db.hostOperation.updateMany({ where: { operationId: { in: ids }, completedAt: null }, data: { reason, completedAt: now } }),
  ]);
  for (let i = 0; i < failed.count; i++) countOperation('console', 'failed');
  return failed.count;
}

export type SessionEnd = { hostId: string; ms: number; reason: string; from: string; bytesIn: number; bytesOut: number; attached: boolean };

/** The session's end, in its operation: completed when it was attached, failed when it never was. */
export async function finishConsoleSession(db: Db, operationId: string, end: SessionEnd): Promise<void> {
  const now = new Date();
  const result = json({ ms: end.ms, reason: end.reason, from: end.from, bytesIn: end.bytesIn, bytesOut: end.bytesOut });
  countOperation('console', end.attached ? 'completed' : 'failed');
  await db.$transaction([
    db.operation.update({
      where: { id: operationId },
      data: { state: end.attached ? 'completed' : 'failed', error: end.attached ? null : end.reason, completedAt: now },
    }),
    db.hostOperation.updateMany({
      where: { operationId, hostId: end.hostId },
      data: end.attached
        ? { assignmentStatus: 'assigned', result, completedAt: now }
        : { assignmentStatus: 'error_response_from_host', reason: end.reason, result, completedAt: now },
    }),
  ]);
}

/** Console operations whose ticket expired unused are failed, saying so (run with the reaper). */
export async function failUnusedTickets(db: Db): Promise<number> {
  const expired = await db.consoleTicket.findMany({ where: { usedAt: null, expiresAt: { lt: new Date() } }, select: { id: true, operationId: true }, take: 1000 });
  if (expired.length === 0) return 0;
  const reason = 'the console ticket expired unused';
  const ids = expired.map((t) => t.operationId);
  const [failed] = await db.$transaction([
    db.operation.updateMany({ where: { id: { in: ids }, state: 'assigned' }, data: { state: 'failed', error: reason, completedAt: new Date() } }),
    db.hostOperation.updateMany({ where: { operationId: { in: ids }, completedAt: null }, data: { reason, completedAt: new Date() } }),
    db.consoleTicket.deleteMany({ where: { id: { in: expired.map((t) => t.id) } } }),
  ]);
  return failed.count;
}
