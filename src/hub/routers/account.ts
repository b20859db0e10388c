import { accountProcedure, router } from '../trpc';

export const accountRouter = router({
  me: accountProcedure.query(async ({ ctx }) => {
    const [account, capsuls, keys, sessions] = await Promise.all([
      ctx.db.account.findUniqueOrThrow({ where: { id: ctx.account.id } }),
      ctx.db.capsul.count({ where: { ownerId: ctx.account.id, deletedAt: null } }),
      ctx.db.sshKey.count({ where: { ownerId: ctx.account.id } }),
      ctx.db.session.count({ where: { accountId: ctx.account.id, expiresAt: { gt: new Date() } } }),
    ]);
    return { id: account.id, email: account.email, createdAt: account.createdAt, isAdmin: ctx.actor.isAdmin, capsuls, keys, sessions };
  }),
});
