import type { Metadata } from 'next';
import { getQueryClient, HydrateClient, trpc } from '~/trpc/server';
import { HostsManager } from './hosts-manager';

export const metadata: Metadata = { title: 'Hosts' };

export default async function HostsPage() {
  await getQueryClient().prefetchQuery(trpc.host.list.queryOptions());
  return (
    <HydrateClient>
      <h1>Hosts</h1>
      <HostsManager />
    </HydrateClient>
  );
}
