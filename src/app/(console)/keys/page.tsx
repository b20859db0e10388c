import type { Metadata } from 'next';
import { getQueryClient, HydrateClient, trpc } from '~/trpc/server';
import { KeysManager } from './keys-manager';

export const metadata: Metadata = { title: 'SSH keys' };

export default async function KeysPage() {
  await getQueryClient().prefetchQuery(trpc.sshKey.list.queryOptions());
  return (
    <HydrateClient>
      <h1>SSH keys</h1>
      <p className="muted">Keys you pick when you create a capsul are put in its authorized_keys.</p>
      <KeysManager />
    </HydrateClient>
  );
}
