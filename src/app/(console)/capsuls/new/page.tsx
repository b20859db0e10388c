import type { Metadata } from 'next';
import { getQueryClient, HydrateClient, trpc } from '~/trpc/server';
import { CreateForm } from './create-form';

export const metadata: Metadata = { title: 'Create a capsul' };

export default async function NewCapsulPage() {
  const queryClient = getQueryClient();
  await Promise.all([queryClient.prefetchQuery(trpc.catalog.list.queryOptions()), queryClient.prefetchQuery(trpc.sshKey.list.queryOptions())]);
  return (
    <HydrateClient>
      <h1>Create a capsul</h1>
      <CreateForm />
    </HydrateClient>
  );
}
