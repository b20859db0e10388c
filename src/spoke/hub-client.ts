// The spoke's typed client for the hub's `spoke.*` procedures, typed by the hub router's type alone.
import { createTRPCClient, httpLink, type TRPCClient } from '@trpc/client';
import superjson from 'superjson';
import { SPOKE_HOST_ID_HEADER } from '~/contract/hub';
import type { HubRouter } from '~/hub/root';
import type { FetchLike } from '~/lib/https-fetch';

export type HubClient = TRPCClient<HubRouter>;

export function createHubClient(opts: { hubUrl: string; hostId: string; hostToken: string; fetch: FetchLike; timeoutMs: number }): HubClient {
  // Every call has the deadline, also one made with a signal of its own (a claim's, which its stop aborts).
  const fetchWithDeadline: FetchLike = (input, init) => {
    const deadline = AbortSignal.timeout(opts.timeoutMs);
    return opts.fetch(input, { ...init, signal: init?.signal ? AbortSignal.any([init.signal, deadline]) : deadline });
  };
  return createTRPCClient<HubRouter>({
    links: [
      httpLink({
        url: `${opts.hubUrl}/api/trpc`,
        transformer: superjson,
        fetch: fetchWithDeadline,
        headers: { authorization: `Bearer ${opts.hostToken}`, [SPOKE_HOST_ID_HEADER]: opts.hostId },
      }),
    ],
  });
}
