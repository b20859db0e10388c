// Reconciliation for admins: the last stored comparison of the database with the spokes, and a new one on demand.
import { z } from 'zod';
import { reconcile } from '../operations/reconcile';
import { adminProcedure, router } from '../trpc';

export const driftRouter = router({
  latest: adminProcedure.query(({ ctx }) => ctx.db.reconciliation.findFirst({ orderBy: { startedAt: 'desc' } })),
  history: adminProcedure
    .input(z.object({ limit: z.number().int().min(1).max(100).default(20) }).default({ limit: 20 }))
    .query(({ ctx, input }) =>
      ctx.db.reconciliation.findMany({ orderBy: { startedAt: 'desc' }, take: input.limit, select: { id: true, actor: true, startedAt: true, finishedAt: true, findings: true } }),
    ),
  check: adminProcedure.mutation(({ ctx }) => reconcile(ctx.db, ctx.actor.label)),
});
