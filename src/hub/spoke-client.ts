// Typed tRPC clients for calling spokes, typed by the spoke router's type alone (`import type`).
import { createTRPCClient, httpLink, type TRPCClient } from '@trpc/client';
import superjson from 'superjson';
import { OPERATION_ID_HEADER } from '~/contract/spoke';
import type { FetchLike } from '~/lib/https-fetch';
import { processSingleton } from '~/lib/process-singleton';
import type { SpokeRouter } from '~/spoke/router';

export type SpokeClient = TRPCClient<SpokeRouter>;

type Settings = { fetch: FetchLike; hubToken: string };
// Set once at start by the hub (server.ts).
const state = processSingleton('spokeClients', () => ({ settings: undefined as Settings | undefined, clients: new Map<string, SpokeClient>() }));

export function configureSpokeClients(settings: Settings): void {
  state.settings = settings;
  state.clients.clear();
}

/** The fetch (connection pool, TLS) and token the hub's spoke clients use. */
export function spokeClientSettings(): Settings {
  if (!state.settings) throw new Error('spoke clients are not configured (the hub configures them at start)');
  return state.settings;
}

/** One client per spoke URL; they share one connection pool (keep-alive) through the configured fetch. */
export function spokeClient(httpsUrl: string): SpokeClient {
  const settings = spokeClientSettings();
  let client = state.clients.get(httpsUrl);
  if (!client) {
    client = createTRPCClient<SpokeRouter>({
      links: [
        httpLink({
          url: `${httpsUrl}/trpc`,
          transformer: superjson,
          fetch: settings.fetch,
          // The operation a call serves travels with it, so the spoke's log lines about it carry its id.
          headers: ({ op }) => {
            const operationId = (op.context as { operationId?: string }).operationId;
            return { authorization: `Bearer ${settings.hubToken}`, ...(operationId ? { [OPERATION_ID_HEADER]: operationId } : {}) };
          },
        }),
      ],
    });
    state.clients.set(httpsUrl, client);
  }
  return client;
}
