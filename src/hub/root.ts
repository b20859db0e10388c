// The hub router: only composes the routers, one per domain noun.
import { accountRouter } from './routers/account';
import { authRouter } from './routers/auth';
import { benchRouter } from './routers/bench';
import { billingProcedures } from './routers/billing';
import { capsulRouter } from './routers/capsul';
import { catalogRouter } from './routers/catalog';
import { consoleRouter } from './routers/console';
import { driftRouter } from './routers/drift';
import { fleetRouter } from './routers/fleet';
import { hostRouter } from './routers/host';
import { imageRouter } from './routers/image';
import { limitsRouter } from './routers/limits';
import { openBooksProcedures } from './routers/open-books';
import { operationRouter } from './routers/operation';
import { paymentProcedures } from './routers/payments';
import { snapshotRouter } from './routers/snapshot';
import { sshKeyRouter } from './routers/ssh-key';
import { spokeRouter } from './routers/spoke';
import { usageRouter } from './routers/usage';
import { createCallerFactory, router } from './trpc';

export const hubRouter = router({
  spoke: spokeRouter,
  auth: authRouter,
  account: accountRouter,
  sshKey: sshKeyRouter,
  catalog: catalogRouter,
  drift: driftRouter,
  host: hostRouter,
  capsul: capsulRouter,
  console: consoleRouter,
  snapshot: snapshotRouter,
  fleet: fleetRouter,
  image: imageRouter,
  limits: limitsRouter,
  operation: operationRouter,
  usage: usageRouter,
  bench: benchRouter,
  // Billing: the balance, ledger, prices and admin adjustments (routers/billing.ts), topping up
  // (routers/payments.ts), and the open books (routers/open-books.ts).
  billing: router({ ...billingProcedures, ...paymentProcedures, ...openBooksProcedures }),
});

export type HubRouter = typeof hubRouter;
export const createHubCaller = createCallerFactory(hubRouter);
