// Sessions: a random token in the cookie, its SHA-256 as the row id. Expiry slides forward with use.
import { hashToken, newToken } from '~/lib/tokens';
import type { Db } from '../db/client';

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

export async function endSession(db: Db, token: string): Promise<void> {
  await db.session.deleteMany({ where: { id: hashToken(token) } });
}

export async function endAllSessions(db: Db, accountId: string): Promise<number> {
  return (await db.session.deleteMany({ where: { accountId } })).count;
}
