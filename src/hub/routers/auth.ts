// Signing in and out. Asking for a link answers the same whether or not the account exists.
import { z } from 'zod';
import { env } from '~/env';
import { clearedSessionCookie, sessionCookie } from '../auth/cookies';
import { requestLoginLink, verifyLoginLink } from '../auth/login';
import { endAllSessions, endSession } from '../auth/sessions';
import { accountProcedure, clientAddress, publicProcedure, router } from '../trpc';

export const email = z.email({ message: 'enter an email address like you@example.com' }).max(254).transform((e) => e.toLowerCase());

export const authRouter = router({
  requestLink: publicProcedure.input(z.object({ email })).mutation(async ({ ctx, input }) => {
    await requestLoginLink(ctx.db, input.email, clientAddress(ctx));
    return { sent: true as const };
  }),

  verify: publicProcedure
    .input(z.object({ token: z.string().regex(/^[A-Za-z0-9_-]{43}$/, 'this is not a sign-in link token') }))
    .mutation(async ({ ctx, input }) => {
      const { sessionToken, email: signedIn } = await verifyLoginLink(ctx.db, input.token);
      ctx.setCookie?.(sessionCookie(sessionToken, env().SESSION_DAYS * 24 * 3600));
      return { email: signedIn };
    }),

  logout: accountProcedure.input(z.object({ everywhere: z.boolean().default(false) }).default({ everywhere: false })).mutation(async ({ ctx, input }) => {
    if (input.everywhere) await endAllSessions(ctx.db, ctx.account.id);
    else await endSession(ctx.db, ctx.actor.sessionToken!);
    ctx.setCookie?.(clearedSessionCookie());
    return { signedOut: true as const };
  }),
});
