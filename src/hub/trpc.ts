// The hub's tRPC setup, in three parts (the create-t3-app layout):
//   1. context: the database and the request's headers;
//   2. initTRPC with superjson and an error formatter that names bad fields;
//   3. procedure builders, where authentication lives: spokeProcedure (a Host's id + token) and
//      adminProcedure (the operator's admin token, used by the CLI).
import { initTRPC, TRPCError } from '@trpc/server';
import superjson from 'superjson';
import { SPOKE_HOST_ID_HEADER } from '~/contract/hub';
import { HOST_ID_PATTERN } from '~/contract/ids';
import { env } from '~/env';
import { formatError } from '~/lib/trpc-errors';
import { bearerToken, hashToken, tokenMatches, tokenMatchesHash } from '~/lib/tokens';
import { db, type Db } from './db/client';

// 1. context
export type HubContext = { db: Db; headers: Headers };

export function createHubContext(opts: { headers: Headers }): HubContext {
  return { db: db(), headers: opts.headers };
}

// 2. initTRPC
const t = initTRPC.context<HubContext>().create({ transformer: superjson, errorFormatter: formatError });

export const router = t.router;
export const createCallerFactory = t.createCallerFactory;
export const publicProcedure = t.procedure;

// 3. procedure builders
const unauthorized = () => new TRPCError({ code: 'UNAUTHORIZED', message: 'missing or wrong credentials' });
// Compared against when the host id is unknown, so an unknown id costs the same as a wrong token.
const NO_HOST_HASH = hashToken('no such host');

/** A spoke calling back: `x-spoke-host-id` and `Authorization: Bearer <SPOKE_HOST_TOKEN>` must match a Host. */
export const spokeProcedure = t.procedure.use(async ({ ctx, next }) => {
  const hostId = ctx.headers.get(SPOKE_HOST_ID_HEADER) ?? '';
  const token = bearerToken(ctx.headers.get('authorization'));
  if (!token || !HOST_ID_PATTERN.test(hostId)) throw unauthorized();
  const host = await ctx.db.host.findFirst({ where: { id: hostId, removedAt: null }, select: { id: true, tokenHash: true } });
  if (!tokenMatchesHash(token, host?.tokenHash ?? NO_HOST_HASH) || !host) throw unauthorized();
  return next({ ctx: { hostId: host.id } });
});

/** The operator: `Authorization: Bearer <HUB_ADMIN_TOKEN>`. */
export const adminProcedure = t.procedure.use(async ({ ctx, next }) => {
  const token = bearerToken(ctx.headers.get('authorization'));
  const expected = env().HUB_ADMIN_TOKEN;
  if (!token || !expected || !tokenMatches(token, expected)) throw unauthorized();
  return next({ ctx: { actor: 'cli' } });
});
