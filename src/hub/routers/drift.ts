import { findDrift } from '../operations/drift';
import { adminProcedure, router } from '../trpc';

export const driftRouter = router({
  check: adminProcedure.query(({ ctx }) => findDrift(ctx.db, ctx.actor.label)),
});
