// Immediate fan-outs across every online host.
import { z } from 'zod';
import { diskGb, memoryMb } from '~/contract/capsul';
import { fleetCapacity, listFleet } from '../operations';
import { adminProcedure, router } from '../trpc';

export const fleetRouter = router({
  list: adminProcedure.query(({ ctx }) => listFleet(ctx.db, ctx.actor.label)),
  capacity: adminProcedure
    .input(z.object({ memoryMb, diskGb }))
    .query(({ ctx, input }) => fleetCapacity(ctx.db, ctx.actor.label, input)),
});
