import type { Metadata } from 'next';
import { getQueryClient, HydrateClient, trpc } from '~/trpc/server';
import { LimitsManager } from './limits-manager';

export const metadata: Metadata = { title: 'Limits' };

export default async function LimitsPage() {
  await getQueryClient().prefetchQuery(trpc.limits.list.queryOptions());
  return (
    <HydrateClient>
      <h1>Limits</h1>
      <LimitsManager />
    </HydrateClient>
  );
}
