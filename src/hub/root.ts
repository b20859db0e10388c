// The hub router: only composes the routers, one per domain noun.
import { capsulRouter } from './routers/capsul';
import { fleetRouter } from './routers/fleet';
import { hostRouter } from './routers/host';
import { imageRouter } from './routers/image';
import { operationRouter } from './routers/operation';
import { spokeRouter } from './routers/spoke';
import { createCallerFactory, router } from './trpc';

export const hubRouter = router({
  spoke: spokeRouter,
  host: hostRouter,
  capsul: capsulRouter,
  fleet: fleetRouter,
  image: imageRouter,
  operation: operationRouter,
});

export type HubRouter = typeof hubRouter;
export const createHubCaller = createCallerFactory(hubRouter);
