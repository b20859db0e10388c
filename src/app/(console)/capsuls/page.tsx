import type { Metadata } from 'next';
import Link from 'next/link';
import { getQueryClient, HydrateClient, trpc } from '~/trpc/server';
import { CapsulTable } from './capsul-table';

export const metadata: Metadata = { title: 'Capsuls' };

export default async function CapsulsPage() {
  await getQueryClient().prefetchQuery(trpc.capsul.list.queryOptions({}));
  return (
    <HydrateClient>
      <div className="header-row">
        <h1>Your capsuls</h1>
        <Link className="button" href="/capsuls/new">
          Create a capsul
        </Link>
      </div>
      <CapsulTable input={{}} />
    </HydrateClient>
  );
}
