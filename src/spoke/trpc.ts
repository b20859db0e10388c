// The spoke's tRPC setup: context (the Spoke and the caller's credentials), initTRPC, and one procedure
// builder. Every request needs `Authorization: Bearer <HUB_TOKEN>`; anything else is refused with 401 in
// createContext, before any procedure runs.
import { initTRPC, TRPCError } from '@trpc/server';
import superjson from 'superjson';
import { formatError } from '~/lib/trpc-errors';
import { bearerToken, tokenMatches } from '~/lib/tokens';
import type { Spoke } from './spoke';

export type SpokeContext = { spoke: Spoke };

export function spokeContextFactory(spoke: Spoke, hubToken: string) {
  return ({ req }: { req: { headers: { authorization?: string } } }): SpokeContext => {
    const token = bearerToken(req.headers.authorization);
    if (!token || !tokenMatches(token, hubToken)) {
      throw new TRPCError({ code: 'UNAUTHORIZED', message: 'missing or wrong hub token' });
    }
    return { spoke };
  };
}

const t = initTRPC.context<SpokeContext>().create({ transformer: superjson, errorFormatter: formatError });

export const router = t.router;
export const procedure = t.procedure;
