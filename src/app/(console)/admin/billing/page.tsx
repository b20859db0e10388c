import type { Metadata } from 'next';
import { getQueryClient, HydrateClient, serverCaller, trpc } from '~/trpc/server';
import { BillingManager } from './billing-manager';
import { FleetCosts } from './fleet-costs';

export const metadata: Metadata = { title: 'Billing' };

export default async function BillingAdminPage() {
  const status = await (await serverCaller()).billing.status();
  if (!status.enabled) {
    return (
      <>
        <h1>Billing</h1>
        <p className="muted">Billing is off on this hub: set BILLING_CURRENCY (e.g. EUR) to turn it on.</p>
      </>
    );
  }
  const queryClient = getQueryClient();
  await Promise.all([
    queryClient.prefetchQuery(trpc.billing.prices.queryOptions()),
    queryClient.prefetchQuery(trpc.billing.accounts.queryOptions()),
    queryClient.prefetchQuery(trpc.billing.fleetCosts.queryOptions()),
  ]);
  return (
    <HydrateClient>
      <h1>Billing</h1>
      <BillingManager currency={status.currency} />
      <FleetCosts currency={status.currency} />
    </HydrateClient>
  );
}
