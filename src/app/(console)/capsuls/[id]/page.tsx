import type { Metadata } from 'next';
import { notFound } from 'next/navigation';
import { CAPSUL_ID_PATTERN } from '~/contract/ids';
import { getQueryClient, HydrateClient, trpc } from '~/trpc/server';
import { CapsulDetail } from './capsul-detail';

export const metadata: Metadata = { title: 'Capsul' };

export default async function CapsulPage({ params }: { params: Promise<{ id: string }> }) {
  const { id } = await params;
  if (!CAPSUL_ID_PATTERN.test(id)) notFound();
  const queryClient = getQueryClient();
  // Another account's capsul is "not found", exactly like one that does not exist.
  const capsul = await queryClient.fetchQuery(trpc.capsul.byId.queryOptions({ id })).catch(() => null);
  if (!capsul) notFound();
  await queryClient.prefetchQuery(trpc.capsul.operations.queryOptions({ id }));
  return (
    <HydrateClient>
      <CapsulDetail id={id} />
    </HydrateClient>
  );
}
