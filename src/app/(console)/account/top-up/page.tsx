import type { Metadata } from 'next';
import { getQueryClient, HydrateClient, trpc } from '~/trpc/server';
import { TopUp } from './top-up';

export const metadata: Metadata = { title: 'Top up' };

// Also where the rails send the person back: ?topUp=done (with Stripe's session_id) or ?topUp=cancelled (with
// the top-up's id).
export default async function TopUpPage({ searchParams }: { searchParams: Promise<{ topUp?: string; session_id?: string; payment?: string }> }) {
  const { topUp, session_id: sessionId, payment } = await searchParams;
  const queryClient = getQueryClient();
  await Promise.all([queryClient.prefetchQuery(trpc.billing.rails.queryOptions()), queryClient.prefetchQuery(trpc.billing.payments.queryOptions())]);
  const returned = topUp === 'done' || topUp === 'cancelled' ? topUp : null;
  return (
    <HydrateClient>
      <h1>Top up</h1>
      <TopUp
        returned={returned}
        sessionId={typeof sessionId === 'string' && /^cs_\w{1,250}$/.test(sessionId) ? sessionId : null}
        paymentId={typeof payment === 'string' && /^[0-9a-f-]{36}$/.test(payment) ? payment : null}
      />
    </HydrateClient>
  );
}
