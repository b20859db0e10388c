// The hub's tRPC setup, in three parts (the create-t3-app layout):
//   1. context: the database, the request's headers, and a way to set the session cookie;
//   2. initTRPC with superjson and an error formatter that names bad fields;
//   3. procedure builders, where authentication lives:
//      spokeProcedure  a Host's id + token (PROTOCOL.md, hub router for spokes);
//      actorProcedure  a signed-in account (session cookie) or the operator's admin token (CLI);
//      accountProcedure  a signed-in account;
//      adminProcedure  the admin token, or an account listed in ADMIN_EMAILS.
import { initTRPC, TRPCError } from '@trpc/server';
import superjson from 'superjson';
import { SPOKE_HOST_ID_HEADER } from '~/contract/hub';
import { HOST_ID_PATTERN } from '~/contract/ids';
import { env } from '~/env';
import { bearerToken, hashToken, tokenMatches } from '~/lib/tokens';
import { readCookie, SESSION_COOKIE } from './auth/cookies';
import { findSession } from './auth/sessions';
import { CLIENT_ADDRESS_HEADER } from './client-address';
import { db, type Db } from './db/client';
import { formatHubError, forMember } from './error-shape';
import { isDatabaseUnavailable } from './db/unavailable';
import { REFUSED_HEADER } from './drain';
import type { Scope } from './operations';
import { forgetPreviousHostToken, HOST_TOKEN_COLUMNS, matchHostToken, type HostTokenColumns } from './host-tokens';
import { knownHosts } from './operations/hosts';

// 1. context
export type HubContext = { db: Db; headers: Headers; setCookie?: (cookie: string) => void };

export function createHubContext(opts: { headers: Headers; setCookie?: (cookie: string) => void }): HubContext {
  return { db: db(), headers: opts.headers, setCookie: opts.setCookie };
}

export function clientAddress(ctx: HubContext): string {
  return ctx.headers.get(CLIENT_ADDRESS_HEADER) ?? 'unknown';
}

// 2. initTRPC (isDev: false whatever NODE_ENV says: no stack trace in any error shape, see error-shape.ts)
const t = initTRPC.context<HubContext>().create({ transformer: superjson, errorFormatter: formatHubError, isDev: false });

export const router = t.router;
export const createCallerFactory = t.createCallerFactory;

/**
 * Every procedure: refused with a 503 when it arrived while the hub is stopping (drain.ts), and a database
 * that cannot be reached is a clear 503, whatever the procedure was doing.
 */
const base = t.procedure.use(async ({ ctx, next }) => {
  if (ctx.headers.get(REFUSED_HEADER)) throw new TRPCError({ code: 'SERVICE_UNAVAILABLE', message: 'the hub is restarting; try again in a few seconds' });
  const result = await next();
  if (!result.ok && isDatabaseUnavailable(result.error.cause ?? result.error)) {
    throw new TRPCError({ code: 'SERVICE_UNAVAILABLE', message: 'the database is unavailable right now; try again shortly', cause: result.error });
  }
  return result;
});

export const publicProcedure = base;

// 3. procedure builders
const unauthorized = (message = 'missing or wrong credentials') => new TRPCError({ code: 'UNAUTHORIZED', message });
// Compared against when the host id is unknown, so an unknown id costs the same as a wrong token.
const NO_HOST_HASH = hashToken('no such host');

/**
 * A spoke calling back: `x-spoke-host-id` and `Authorization: Bearer <SPOKE_HOST_TOKEN>` must match a Host: its
 * current token, or during a rotation the previous one (host-tokens.ts).
 */
export const spokeProcedure = base.use(async ({ ctx, next }) => {
  const hostId = ctx.headers.get(SPOKE_HOST_ID_HEADER) ?? '';
  const token = bearerToken(ctx.headers.get('authorization'));
  if (!token || !HOST_ID_PATTERN.test(hostId)) throw unauthorized();
  // The host snapshot (at most a second old) answers for a known host and its tokens, which spares a claim a
  // database round trip. Anything else is looked up, so a host just added or given a new token through
  // another hub is never refused; a host removed through another hub passes for up to a second.
  let host: HostTokenColumns | null | undefined = (await knownHosts(ctx.db)).find((h) => h.id === hostId);
  let match = host && matchHostToken(token, host);
  if (!match) {
    host = await ctx.db.host.findFirst({ where: { id: hostId, removedAt: null }, select: HOST_TOKEN_COLUMNS });
    match = matchHostToken(token, host ?? { id: hostId, tokenHash: NO_HOST_HASH, previousTokenHash: null, previousTokenUntil: null });
  }
  if (!host || !match) throw unauthorized();
  if (match === 'current') forgetPreviousHostToken(ctx.db, host);
  return next({ ctx: { hostId: host.id } });
});

/** Who is asking: recorded on every operation as `actor`, and the base of every access decision. */
export type Actor = {
  label: string;
  isAdmin: boolean;
  accountId?: string;
  email?: string;
  sessionToken?: string;
};

/**
 * A browser's mutation must come from the console's own origin, PUBLIC_URL's scheme, host and port (the
 * cookie alone is not enough: CSRF). Not the Host header: the client chooses it.
 */
function sameOrigin(headers: Headers): boolean {
  const origin = headers.get('origin');
  if (!origin) return false;
  try {
    return new URL(origin).origin === new URL(env().PUBLIC_URL).origin;
  } catch {
    return false;
  }
}

export const actorProcedure = base.use(async ({ ctx, type, next }) => {
  const bearer = bearerToken(ctx.headers.get('authorization'));
  if (bearer) {
    const adminToken = env().HUB_ADMIN_TOKEN;
    if (!adminToken || !tokenMatches(bearer, adminToken)) throw unauthorized();
    const actor: Actor = { label: 'cli', isAdmin: true };
    return next({ ctx: { actor } });
  }
  const token = readCookie(ctx.headers.get('cookie'), SESSION_COOKIE);
  const session = token ? await findSession(ctx.db, token, env().SESSION_DAYS) : null;
  if (!session || !token) throw unauthorized('sign in first');
  if (type === 'mutation' && !sameOrigin(ctx.headers)) {
    const site = new URL(env().PUBLIC_URL).origin;
    throw new TRPCError({ code: 'FORBIDDEN', message: `refused: the request did not come from this site (${site}, its PUBLIC_URL)` });
  }
  const { email, id } = session.account;
  const actor: Actor = { label: `account:${email}`, isAdmin: env().ADMIN_EMAILS.includes(email), accountId: id, email, sessionToken: token };
  const result = await next({ ctx: { actor } });
  // Hosts' reasons are for admins; a member is told what happened without them (error-shape.ts).
  if (!result.ok && !actor.isAdmin) {
    const told = forMember(result.error);
    if (told !== result.error) throw told;
  }
  return result;
});

export const accountProcedure = actorProcedure.use(({ ctx, next }) => {
  const { accountId, email } = ctx.actor;
  if (!accountId || !email) throw new TRPCError({ code: 'FORBIDDEN', message: 'this needs a signed-in account, not the admin token' });
  return next({ ctx: { account: { id: accountId, email } } });
});

export const adminProcedure = actorProcedure.use(({ ctx, next }) => {
  if (!ctx.actor.isAdmin) throw new TRPCError({ code: 'FORBIDDEN', message: 'admins only' });
  return next();
});

/** Which capsuls an actor reaches by id: admins any, an account its own. */
export function scopeOf(actor: Actor): Scope {
  return actor.isAdmin ? {} : { ownerId: actor.accountId ?? 'none' };
}
