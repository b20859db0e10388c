// Immediate fan-outs across every online host. Mutations: each asks every host and is recorded.
import { z } from 'zod';
import { diskGb, memoryMb } from '~/contract/capsul';
import { fleetCapacity, listFleet } from '../operations';
import { adminProcedure, router } from '../trpc';

export const fleetRouter = router({
  list: adminProcedure.mutation(({ ctx }) => listFleet(ctx.db, ctx.actor.label)),
  capacity: adminProcedure
    .input(z.object({ memoryMb, diskGb }))
    .mutation(({ ctx, input }) => fleetCapacity(ctx.db, ctx.actor.label, input)),
});
