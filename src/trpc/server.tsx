// Server components call the hub router in-process (no HTTP), as the signed-in request's actor, and hand
// what they fetched to the client cache (HydrateClient).
import { dehydrate, HydrationBoundary } from '@tanstack/react-query';
import { createTRPCOptionsProxy } from '@trpc/tanstack-react-query';
import { headers } from 'next/headers';
import { cache, type ReactNode } from 'react';
import { createHubCaller, hubRouter } from '~/hub/root';
import { createHubContext } from '~/hub/trpc';
import { makeQueryClient } from './query-client';

export const getQueryClient = cache(makeQueryClient);

const createContext = cache(async () => createHubContext({ headers: new Headers(await headers()) }));

export const trpc = createTRPCOptionsProxy({ ctx: createContext, router: hubRouter, queryClient: getQueryClient });

export const serverCaller = cache(async () => createHubCaller(await createContext()));

export function HydrateClient({ children }: { children: ReactNode }) {
  return <HydrationBoundary state={dehydrate(getQueryClient())}>{children}</HydrationBoundary>;
}
