// Sessions: a random token in the cookie, its SHA-256 as the row id. Expiry slides forward with use.
import { hashToken, newToken } from '~/lib/tokens';
import type { Db } from '../db/client';
import { sessionsEnded } from './session-events';

const DAY = 24 * 3600 * 1000;

export async function createSession(db: Db, accountId: string, days: number): Promise<string> {
  const token = newToken();
  await db.session.create({ data: { id: hashToken(token), accountId, expiresAt: new Date(Date.now() + days * DAY) } });
  return token;
}

export async function findSession(db: Db, token: string, days: number) {
  if (!/^[A-Za-z0-9_-]{43}$/.test(token)) return null;
  const session = await db.session.findUnique({ where: { id: hashToken(token) }, include: { account: true } });
  if (!session || session.expiresAt < new Date()) return null;
  // Slide the expiry at most once an hour, so a busy console does not write on every request.
  if (Date.now() - session.lastSeenAt.getTime() > 3600 * 1000) {
    await db.session.update({ where: { id: session.id }, data: { lastSeenAt: new Date(), expiresAt: new Date(Date.now() + days * DAY) } });
  }
  return session;
}

/** Ends one session; its open consoles close at once (session-events.ts). */
export async function endSession(db: Db, token: string): Promise<void> {
  const id = hashToken(token);
  const session = await db.session.findUnique({ where: { id }, select: { accountId: true } });
  await db.session.deleteMany({ where: { id } });
  if (session) sessionsEnded(session.accountId);
}

/** Sign out everywhere: every session of the account ends, and every console it has open closes at once. */
export async function endAllSessions(db: Db, accountId: string): Promise<number> {
  const count = (await db.session.deleteMany({ where: { accountId } })).count;
  sessionsEnded(accountId);
  return count;
}
