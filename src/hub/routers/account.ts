import { defaultLimits, effectiveLimits, usageOf } from '../limits';
import { accountProcedure, router } from '../trpc';

export const accountRouter = router({
  /** Who is signed in, and what the account holds against its limits. */
  me: accountProcedure.query(async ({ ctx }) => {
    const [account, usage, defaults, keys, sessions] = await Promise.all([
      ctx.db.account.findUniqueOrThrow({ where: { id: ctx.account.id }, include: { limits: true } }),
      usageOf(ctx.db, ctx.account.id),
      defaultLimits(ctx.db),
      ctx.db.sshKey.count({ where: { ownerId: ctx.account.id } }),
      ctx.db.session.count({ where: { accountId: ctx.account.id, expiresAt: { gt: new Date() } } }),
    ]);
    return {
      id: account.id,
      email: account.email,
      createdAt: account.createdAt,
      isAdmin: ctx.actor.isAdmin,
      capsuls: usage.capsuls,
      keys,
      sessions,
      usage,
      limits: effectiveLimits(defaults, account.limits),
    };
  }),
});
