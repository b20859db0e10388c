// Usage history (src/hub/usage/): a capsul's graphs for its owner (and admins), hosts' and the fleet's and
// the top capsuls for admins. Reads only; another account's capsul is NOT_FOUND, as everywhere.
import { TRPCError } from '@trpc/server';
import { capsulSeriesInput, hostSeriesInput, topCapsulsInput, type CapsulSeries, type HostSeries } from '~/contract/usage';
import { findCapsul } from '../operations/owner';
import { actorProcedure, adminProcedure, router, scopeOf } from '../trpc';
import { capsulColumns, hostColumns } from '../usage/series';
import { topCapsuls } from '../usage/top';

export const usageRouter = router({
  capsul: actorProcedure.input(capsulSeriesInput).query(async ({ ctx, input }): Promise<CapsulSeries> => {
    const capsul = await findCapsul(ctx.db, input.capsulId, scopeOf(ctx.actor));
    const [columns, last, host] = await Promise.all([
      capsulColumns(ctx.db, capsul.id, input.range),
      ctx.db.capsulUsage.findFirst({ where: { capsulId: capsul.id, step: 0 }, orderBy: { at: 'desc' }, select: { at: true, seconds: true } }),
      capsul.hostId ? ctx.db.host.findUnique({ where: { id: capsul.hostId }, select: { driver: true } }) : null,
    ]);
    return {
      range: input.range,
      ...columns,
      capsul: { vcpus: capsul.vcpus, memoryMb: capsul.memoryMb, state: capsul.state, createdAt: capsul.createdAt },
      simulated: host?.driver === 'fake',
      lastPointAt: last?.at ?? null,
      samplePeriodSeconds: last ? Math.round(last.seconds) : null,
    };
  }),

  /** One host's history, or with no hostId the fleet's. */
  host: adminProcedure.input(hostSeriesInput).query(async ({ ctx, input }): Promise<HostSeries> => {
    if (input.hostId && !(await ctx.db.host.findUnique({ where: { id: input.hostId }, select: { id: true } }))) {
      throw new TRPCError({ code: 'NOT_FOUND', message: `no host ${input.hostId}` });
    }
    return { range: input.range, hostId: input.hostId ?? null, ...(await hostColumns(ctx.db, input.hostId ?? null, input.range)) };
  }),

  top: adminProcedure.input(topCapsulsInput).query(({ ctx, input }) => topCapsuls(ctx.db, input.range, input.limit)),
});
