// Passwordless sign-in: a link by mail, single use, valid 15 minutes, rate-limited per email and per client
// address. The verify step makes the account on first sign-in and starts a session.
import { TRPCError } from '@trpc/server';
import { env } from '~/env';
import { hashToken, newToken } from '~/lib/tokens';
import { fieldError } from '~/lib/trpc-errors';
import type { Db } from '../db/client';
import { ensureAccount } from '../accounts';
import { canSendMail, sendMail } from './mail';
import { createSession } from './sessions';

export const LINK_MINUTES = 15;
/** Sign-in links asked for in this window count for the rate limit (retention keeps them at least this long). */
export const RATE_LIMIT_WINDOW_MS = 15 * 60 * 1000;

export async function requestLoginLink(db: Db, email: string, clientAddress: string): Promise<void> {
  if (!canSendMail()) {
    throw new TRPCError({ code: 'SERVICE_UNAVAILABLE', message: 'This hub cannot send sign-in links yet: its operator has not set SMTP_URL.' });
  }
  const since = new Date(Date.now() - RATE_LIMIT_WINDOW_MS);
  const [forEmail, forAddress] = await Promise.all([
    db.loginToken.count({ where: { email, createdAt: { gte: since } } }),
    db.loginToken.count({ where: { clientAddress, createdAt: { gte: since } } }),
  ]);
  // Too many for this address is about the field; too many from the network is not.
  if (forEmail >= env().LOGIN_LINKS_PER_EMAIL) {
    throw fieldError('email', 'too many sign-in links asked for this address; use the last one sent, or try again in 15 minutes', 'TOO_MANY_REQUESTS');
  }
  if (forAddress >= env().LOGIN_LINKS_PER_ADDRESS) {
    throw new TRPCError({ code: 'TOO_MANY_REQUESTS', message: 'Too many sign-in links asked from your network; use the last one sent, or try again in 15 minutes.' });
  }
  const token = newToken();
  await db.loginToken.create({
    data: { tokenHash: hashToken(token), email, clientAddress, expiresAt: new Date(Date.now() + LINK_MINUTES * 60 * 1000) },
  });
  const link = `${env().PUBLIC_URL}/login/verify?token=${token}`;
  await sendMail({
    to: email,
    subject: 'Your Capsul sign-in link',
    text: `Sign in to Capsul with this link (valid for ${LINK_MINUTES} minutes, once):\n\n${link}\n\nIf you did not ask for it, ignore this mail.\n`,
  });
}

/** Uses a link's token (once) and returns a new session token for its account. */
export async function verifyLoginLink(db: Db, token: string): Promise<{ sessionToken: string; email: string }> {
  const now = new Date();
  const tokenHash = hashToken(token);
  // Conditional update: of two concurrent uses of one link, only one changes the row.
  const used = await db.loginToken.updateMany({ where: { tokenHash, usedAt: null, expiresAt: { gt: now } }, data: { usedAt: now } });
  if (used.count !== 1) {
    throw new TRPCError({ code: 'UNAUTHORIZED', message: 'This sign-in link has expired or was used already; ask for a new one.' });
  }
  const { email } = await db.loginToken.findUniqueOrThrow({ where: { tokenHash }, select: { email: true } });
  const account = await ensureAccount(db, email);
  return { sessionToken: await createSession(db, account.id, env().SESSION_DAYS), email };
}
