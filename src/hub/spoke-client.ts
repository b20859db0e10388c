// Typed tRPC clients for calling spokes, typed by the spoke router's type alone (`import type`). Each host is
// presented its own hub token (PROTOCOL.md v1.1), found by the host's id.
import { createTRPCClient, httpLink, type TRPCClient } from '@trpc/client';
import superjson from 'superjson';
import { OPERATION_ID_HEADER } from '~/contract/spoke';
import type { FetchLike } from '~/lib/https-fetch';
import { processSingleton } from '~/lib/process-singleton';
import type { SpokeRouter } from '~/spoke/router';
import type { PresentedTokens } from './host-tokens';

export type SpokeClient = TRPCClient<SpokeRouter>;

type Settings = { fetch: FetchLike; hubTokens: (hostId: string) => Promise<PresentedTokens> };
// Set once at start by the hub (server.ts).
const state = processSingleton('spokeClients', () => ({ settings: undefined as Settings | undefined, clients: new Map<string, SpokeClient>() }));

export function configureSpokeClients(settings: Settings): void {
  state.settings = settings;
  state.clients.clear();
}

/** The fetch (connection pool, TLS) and the per-host tokens the hub's spoke clients use. */
export function spokeClientSettings(): Settings {
  if (!state.settings) throw new Error('spoke clients are not configured (the hub configures them at start)');
  return state.settings;
}

/**
 * A fetch that presents a host's own hub token. While a rotation is under way and the spoke refuses the current
 * token, the call goes again with the previous one: a 401 comes before a spoke does anything (PROTOCOL.md), so
 * sending it twice is safe. Any other answer means the spoke took the current token.
 */
function presentingHubToken(hostId: string, settings: Settings): FetchLike {
  return (async (input: string | URL, init?: RequestInit) => {
    const tokens = await settings.hubTokens(hostId);
    const send = (token: string) =>
      settings.fetch(input, { ...init, headers: { ...Object.fromEntries(new Headers(init?.headers)), authorization: `Bearer ${token}` } });
    const answer = await send(tokens.current);
    if (answer.status !== 401) {
      tokens.currentWorks?.();
      return answer;
    }
    if (!tokens.previous) return answer;
    await answer.body?.cancel();
    return send(tokens.previous);
  }) as FetchLike;
}

/** One client per host (and URL); they share one connection pool (keep-alive) through the configured fetch. */
export function spokeClient(host: { id: string; httpsUrl: string }): SpokeClient {
  const settings = spokeClientSettings();
  const key = `${host.id} ${host.httpsUrl}`;
  let client = state.clients.get(key);
  if (!client) {
    client = createTRPCClient<SpokeRouter>({
      links: [
        httpLink({
          url: `${host.httpsUrl}/trpc`,
          transformer: superjson,
          fetch: presentingHubToken(host.id, settings),
          // The operation a call serves travels with it, so the spoke's log lines about it carry its id.
          headers: ({ op }) => {
            const operationId = (op.context as { operationId?: string }).operationId;
            return operationId ? { [OPERATION_ID_HEADER]: operationId } : {};
          },
        }),
      ],
    });
    state.clients.set(key, client);
  }
  return client;
}
