'use client';
// Topping up the balance: pick a rail the hub offers and an amount, and go to its checkout page (Stripe
// Checkout, a BTCPay invoice). Back from it, a Stripe payment is confirmed with Stripe at once
// (billing.confirmTopUp); the top-ups are fetched again every few seconds while one is still pending, so the
// status and the balance move on screen when the rail's webhook arrives.
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useEffect, useRef, useState } from 'react';
import { fieldErrors } from '~/components/errors';
import { controlProps, Field } from '~/components/field';
import { formatTime } from '~/components/format';
import { formatMinor, fromDecimal, minorDigits } from '~/hub/billing/money';
import { useTRPC } from '~/trpc/react';

const RAIL = { stripe: 'Card (Stripe)', btcpay: 'Bitcoin (BTCPay Server)' } as const;
const STATUS = { pending: 'waiting for payment', paid: 'paid', expired: 'expired', partial: 'paid in part (an admin credits it)', invalid: 'not credited' } as const;

// Polled while a top-up of the last half hour is still pending (an abandoned checkout stops being watched).
function waiting(list: { status: string; createdAt: Date }[] | undefined): boolean {
  return !!list?.some((p) => p.status === 'pending' && Date.now() - new Date(p.createdAt).getTime() < 30 * 60_000);
}

export function TopUp({ returned, sessionId, paymentId }: { returned: 'done' | 'cancelled' | null; sessionId: string | null; paymentId: string | null }) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const rails = useQuery(trpc.billing.rails.queryOptions());
  const payments = useQuery(trpc.billing.payments.queryOptions(undefined, { refetchInterval: (q) => (waiting(q.state.data) ? 2000 : false) }));
  const pending = waiting(payments.data);
  const account = useQuery(trpc.billing.account.queryOptions({ limit: 1 }, { enabled: !!rails.data?.currency, refetchInterval: pending ? 2000 : false }));
  // The last pending top-up just settled: the balance is read once more, whichever poll saw it first.
  const wasPending = useRef(pending);
  useEffect(() => {
    if (wasPending.current && !pending) void queryClient.invalidateQueries({ queryKey: trpc.billing.account.queryKey() });
    wasPending.current = pending;
  }, [pending, queryClient, trpc]);
  const [provider, setProvider] = useState<'stripe' | 'btcpay' | ''>('');
  const [amount, setAmount] = useState('');
  const start = useMutation(trpc.billing.topUp.mutationOptions({ onSuccess: ({ url }) => window.location.assign(url) }));
  const confirm = useMutation(
    trpc.billing.confirmTopUp.mutationOptions({
      onSettled: () => {
        void queryClient.invalidateQueries({ queryKey: trpc.billing.payments.queryKey() });
        void queryClient.invalidateQueries({ queryKey: trpc.billing.account.queryKey() });
      },
    }),
  );
  const cancel = useMutation(trpc.billing.cancelTopUp.mutationOptions({ onSettled: () => void queryClient.invalidateQueries({ queryKey: trpc.billing.payments.queryKey() }) }));
  const confirmed = useRef(false);
  useEffect(() => {
    if (confirmed.current) return;
    if (returned === 'done' && sessionId) confirm.mutate({ sessionId });
    else if (returned === 'cancelled' && paymentId) cancel.mutate({ paymentId });
    else return;
    confirmed.current = true;
  }, [returned, sessionId, paymentId, confirm, cancel]);

  const currency = rails.data?.currency ?? null;
  const offered = rails.data?.rails ?? [];
  const chosen = provider || offered[0] || '';
  const amountMinor = currency ? fromDecimal(amount, currency) : null;
  const errors = fieldErrors(start.error, start.variables, { provider: chosen, amountMinor });

  if (!currency) return <p className="card empty">Billing is off on this hub: there is no balance to top up.</p>;
  return (
    <>
      {returned === 'cancelled' ? <p className="notice">You left the checkout; nothing was charged.</p> : null}
      {returned === 'done' ? (
        <p className="notice good" role="status">
          {sessionId && confirm.data?.status === 'paid'
            ? 'Paid: your balance is topped up.'
            : 'Thank you: your balance is topped up as soon as the payment is confirmed (for Bitcoin, once the network confirms it).'}
        </p>
      ) : null}
      <div className="card">
        <dl className="facts">
          <dt>Balance</dt>
          <dd data-testid="balance">{account.data ? formatMinor(account.data.balanceMinor, currency) : '…'}</dd>
        </dl>
      </div>

      {offered.length === 0 ? (
        <p className="card empty">No payment rail is set up on this hub. An admin can credit a cash or bank payment by hand.</p>
      ) : (
        <form
          className="stack card"
          noValidate
          onSubmit={(e) => {
            e.preventDefault();
            if (chosen && amountMinor !== null) start.mutate({ provider: chosen, amountMinor });
          }}
        >
          <fieldset>
            <legend>Pay with</legend>
            {offered.map((r) => (
              <label key={r}>
                <input type="radio" name="provider" value={r} checked={chosen === r} onChange={() => setProvider(r)} /> {RAIL[r]}
              </label>
            ))}
            {errors.provider ? (
              <p className="error" role="alert">
                {errors.provider}
              </p>
            ) : null}
          </fieldset>
          <Field
            id="amountMinor"
            label={`Amount (${currency})`}
            error={errors.amountMinor ?? (amount && amountMinor === null ? `Write an amount such as ${formatMinor(2500, currency).split(' ')[0]}.` : undefined)}
            hint={`Between ${formatMinor(rails.data!.minMinor, currency)} and ${formatMinor(rails.data!.maxMinor, currency)}.`}
          >
            <input type="text" inputMode={minorDigits(currency) ? 'decimal' : 'numeric'} value={amount} onChange={(e) => setAmount(e.target.value)} {...controlProps('amountMinor', errors.amountMinor, true)} />
          </Field>
          {errors.form ? (
            <p className="notice bad" role="alert">
              {errors.form}
            </p>
          ) : null}
          <div>
            <button type="submit" disabled={start.isPending || !chosen || amountMinor === null}>
              {start.isPending ? 'Going to the checkout…' : 'Top up'}
            </button>
          </div>
        </form>
      )}

      <h2>Your top-ups</h2>
      {payments.data?.length ? (
        <table className="stack" aria-label="Your top-ups">
          <thead>
            <tr>
              <th scope="col">Asked</th>
              <th scope="col">With</th>
              <th scope="col">Amount</th>
              <th scope="col">Status</th>
            </tr>
          </thead>
          <tbody>
            {payments.data.map((p) => (
              <tr key={p.id} data-payment={p.status}>
                <td data-label="Asked">{formatTime(p.createdAt)}</td>
                <td data-label="With">{RAIL[p.provider]}</td>
                <td data-label="Amount">{formatMinor(p.amountMinor, p.currency)}</td>
                <td data-label="Status" title={p.detail ?? undefined}>
                  {STATUS[p.status]}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : (
        <p className="card empty">No top-ups yet.</p>
      )}
    </>
  );
}
