// `spoke.*`: what spokes call on the hub. Every procedure is a mutation and needs the host's id and token.
import { claimInput, completeInput, progressInput, spokeHeartbeatInput } from '~/contract/hub';
import { createInput } from '~/contract/spoke';
import { reportUsageInput, reportUsageOutput } from '~/contract/usage';
import { Prisma } from '~/generated/prisma/client';
import { claimOperation, completeOperation } from '../operations';
import { hostHeard } from '../operations/hosts';
import { reportProgress } from '../operations/progress';
import { router, spokeProcedure } from '../trpc';
import { ingestUsage } from '../usage/ingest';

export const spokeRouter = router({
  heartbeat: spokeProcedure.input(spokeHeartbeatInput).mutation(async ({ ctx, input }) => {
    const at = new Date();
    await ctx.db.host.update({
      where: { id: ctx.hostId },
      data: {
        lastHealthCheck: at,
        lastError: null,
        ...(input
          ? { driver: input.driver, freeMemoryMb: input.freeMemoryMb ?? null, freeDiskGb: input.freeDiskGb ?? null, images: input.images ?? Prisma.DbNull }
          : {}),
      },
    });
    hostHeard(ctx.hostId, at);
    return { ok: true as const };
  }),

  claimOperation: spokeProcedure
    .input(claimInput)
    .output(createInput)
    .mutation(({ ctx, input }) => claimOperation(ctx.db, ctx.hostId, input.operationId)),

  completeOperation: spokeProcedure
    .input(completeInput)
    .mutation(({ ctx, input }) => completeOperation(ctx.db, ctx.hostId, input)),

  /** The step a create's build is at (an addition to PROTOCOL.md v1.1's hub router for spokes). */
  reportProgress: spokeProcedure
    .input(progressInput)
    .mutation(({ ctx, input }) => reportProgress(ctx.db, ctx.hostId, input)),

  /** A batch of usage points from the host (an addition to PROTOCOL.md v1.1): refused whole or stored whole. */
  reportUsage: spokeProcedure
    .input(reportUsageInput)
    .output(reportUsageOutput)
    .mutation(({ ctx, input }) => ingestUsage(ctx.db, ctx.hostId, input)),
});
