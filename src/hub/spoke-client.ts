// Typed tRPC clients for calling spokes, typed by the spoke router's type alone (`import type`).
import { createTRPCClient, httpLink, type TRPCClient } from '@trpc/client';
import superjson from 'superjson';
import { OPERATION_ID_HEADER } from '~/contract/spoke';
import type { FetchLike } from '~/lib/https-fetch';
import type { SpokeRouter } from '~/spoke/router';

export type SpokeClient = TRPCClient<SpokeRouter>;

type Settings = { fetch: FetchLike; hubToken: string };
// Set once at start by src/main.ts; on globalThis because the Next.js bundle loads its own copy of this module.
const holder = globalThis as unknown as { __capsulSpokeClients?: { settings: Settings; clients: Map<string, SpokeClient> } };

export function configureSpokeClients(settings: Settings): void {
  holder.__capsulSpokeClients = { settings, clients: new Map() };
}

/** The fetch (connection pool, TLS) and token the hub's spoke clients use. */
export function spokeClientSettings(): Settings {
  const state = holder.__capsulSpokeClients;
  if (!state) throw new Error('spoke clients are not configured (the hub configures them at start)');
  return state.settings;
}

/** One client per spoke URL; they share one connection pool (keep-alive) through the configured fetch. */
export function spokeClient(httpsUrl: string): SpokeClient {
  const state = holder.__capsulSpokeClients;
  if (!state) throw new Error('spoke clients are not configured (the hub configures them at start)');
  let client = state.clients.get(httpsUrl);
  if (!client) {
    client = createTRPCClient<SpokeRouter>({
      links: [
        httpLink({
          url: `${httpsUrl}/trpc`,
          transformer: superjson,
          fetch: state.settings.fetch,
          // The operation a call serves travels with it, so the spoke's log lines about it carry its id.
          headers: ({ op }) => {
            const operationId = (op.context as { operationId?: string }).operationId;
            return { authorization: `Bearer ${state.settings.hubToken}`, ...(operationId ? { [OPERATION_ID_HEADER]: operationId } : {}) };
          },
        }),
      ],
    });
    state.clients.set(httpsUrl, client);
  }
  return client;
}
