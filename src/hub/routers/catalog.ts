import { listCatalog } from '../catalog';
import { actorProcedure, router } from '../trpc';

export const catalogRouter = router({
  list: actorProcedure.query(({ ctx }) => listCatalog(ctx.db, { isAdmin: ctx.actor.isAdmin })),
});
