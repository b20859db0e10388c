import type { Metadata } from 'next';
import { getQueryClient, HydrateClient, trpc } from '~/trpc/server';
import { CapsulTable } from '../../capsuls/capsul-table';

export const metadata: Metadata = { title: 'All capsuls' };

export default async function AllCapsulsPage() {
  await getQueryClient().prefetchQuery(trpc.capsul.list.queryOptions({ all: true }));
  return (
    <HydrateClient>
      <h1>All capsuls</h1>
      <CapsulTable input={{ all: true }} showOwner />
    </HydrateClient>
  );
}
