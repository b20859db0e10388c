import type { Metadata } from 'next';
import { getQueryClient, HydrateClient, trpc } from '~/trpc/server';
import { FleetUsage } from './fleet-usage';

export const metadata: Metadata = { title: 'Usage' };

export default async function UsagePage() {
  await getQueryClient().prefetchQuery(trpc.host.list.queryOptions());
  return (
    <HydrateClient>
      <h1>Usage</h1>
      <p className="muted">What the hosts measure: the fleet&apos;s totals, one host&apos;s, and the capsuls that use the most.</p>
      <FleetUsage />
    </HydrateClient>
  );
}
