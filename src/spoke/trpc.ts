// The spoke's tRPC setup: context (the Spoke and the caller's credentials), initTRPC, and one procedure
// builder. Every request needs `Authorization: Bearer <HUB_TOKEN>`; anything else is refused with 401 in
// createContext, before any procedure runs.
import { initTRPC, TRPCError } from '@trpc/server';
import superjson from 'superjson';
import { OPERATION_ID_HEADER } from '~/contract/spoke';
import type { Logger } from '~/lib/log';
import { formatError } from '~/lib/trpc-errors';
import { bearerToken, tokenMatches } from '~/lib/tokens';
import type { Spoke } from './spoke';

export type SpokeContext = { spoke: Spoke; log: Logger };

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

export function spokeContextFactory(spoke: Spoke, hubToken: string, log: Logger) {
  return ({ req }: { req: { headers: Record<string, string | string[] | undefined> } }): SpokeContext => {
    const token = bearerToken(req.headers.authorization as string | undefined);
    if (!token || !tokenMatches(token, hubToken)) {
      throw new TRPCError({ code: 'UNAUTHORIZED', message: 'missing or wrong hub token' });
    }
    // Every line logged for this call carries the hub's operation id (when it is a well-formed one).
    const operationId = req.headers[OPERATION_ID_HEADER];
    return { spoke, log: typeof operationId === 'string' && UUID.test(operationId) ? log.child({ operationId }) : log };
  };
}

// isDev: false whatever NODE_ENV says: no stack trace in any error shape.
const t = initTRPC.context<SpokeContext>().create({ transformer: superjson, errorFormatter: formatError, isDev: false });

export const router = t.router;
/** Every change the hub asks of this host is logged, with the capsul and operation it concerns. */
export const procedure = t.procedure.use(async ({ ctx, path, type, getRawInput, next }) => {
  const result = await next();
  if (type === 'mutation' && path !== 'heartbeat') {
    const raw = (await getRawInput().catch(() => undefined)) as Record<string, unknown> | undefined;
    const input = raw ?? {};
    const id = typeof input.id === 'string' ? input.id.slice(0, 64) : undefined;
    ctx.log.info('hub call', { procedure: path, capsulId: id, ok: result.ok });
  }
  return result;
});
