'use client';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import Link from 'next/link';
import { useState } from 'react';
import { ConfirmButton } from '~/components/confirm-button';
import { fieldErrors } from '~/components/errors';
import { controlProps, Field } from '~/components/field';
import { formatMinor, fromDecimal, toDecimal } from '~/hub/billing/money';
import { useTRPC } from '~/trpc/react';

type Item = { id: string; month: string; label: string; amountMinor: number };

/** The form for a new item, or for correcting one (`item`); one mutation or the other. */
function CostForm({ currency, item, onDone }: { currency: string; item: Item | null; onDone: () => void }) {
  const trpc = useTRPC();
  const [month, setMonth] = useState(item?.month ?? new Date().toISOString().slice(0, 7));
  const [label, setLabel] = useState(item?.label ?? '');
  const [amount, setAmount] = useState(item ? toDecimal(item.amountMinor, currency) : '');
  const [sent, setSent] = useState<Record<string, string>>();
  const add = useMutation(trpc.billing.addCost.mutationOptions({ onSuccess: onDone }));
  const update = useMutation(trpc.billing.updateCost.mutationOptions({ onSuccess: onDone }));
  const saving = item ? update : add;
  const now = { month, label, amountMinor: amount };
  const errors = fieldErrors(saving.error, sent, now);
  return (
    <form
      className="stack card"
      noValidate
      onSubmit={(e) => {
        e.preventDefault();
        setSent(now);
        // NaN when it is not an amount: the hub refuses it, naming the field.
        const cost = { month, label, amountMinor: fromDecimal(amount, currency) ?? Number.NaN };
        if (item) update.mutate({ id: item.id, ...cost });
        else add.mutate(cost);
      }}
    >
      <div className="filters">
        <Field id="cost-month" label="Month" error={errors.month}>
          <input type="month" value={month} onChange={(e) => setMonth(e.target.value)} {...controlProps('cost-month', errors.month)} />
        </Field>
        <Field id="cost-label" label="What (e.g. colocation, power)" error={errors.label}>
          <input type="text" maxLength={80} value={label} onChange={(e) => setLabel(e.target.value)} {...controlProps('cost-label', errors.label)} />
        </Field>
        <Field id="cost-amount" label={`Amount (${currency})`} error={errors.amountMinor}>
          <input type="text" inputMode="decimal" placeholder="120.00" value={amount} onChange={(e) => setAmount(e.target.value)} {...controlProps('cost-amount', errors.amountMinor)} />
        </Field>
      </div>
      {errors.form ? <p className="notice bad" role="alert">{errors.form}</p> : null}
      <div className="actions">
        <button type="submit" disabled={saving.isPending}>
          {item ? 'Save the change' : 'Add the cost'}
        </button>
        {item ? (
          <button type="button" className="secondary" onClick={onDone}>
            Cancel
          </button>
        ) : null}
      </div>
    </form>
  );
}

/** The fleet's monthly costs for the open books: entered, corrected and deleted here, published or not. */
export function FleetCosts({ currency }: { currency: string }) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const costs = useQuery(trpc.billing.fleetCosts.queryOptions());
  const [editing, setEditing] = useState<Item | null>(null);
  const remove = useMutation(trpc.billing.deleteCost.mutationOptions({ onSuccess: () => changed() }));
  const changed = () => queryClient.invalidateQueries({ queryKey: trpc.billing.fleetCosts.queryKey() });
  if (!costs.data) return null;
  return (
    <>
      <h2>The fleet&apos;s costs (open books)</h2>
      <p className="muted">
        {costs.data.published ? (
          <>
            Published at <Link href="/open-books">/open-books</Link>: each month&apos;s items against its income (payments less refunds), for anyone to read.
          </>
        ) : (
          'Not published: set BILLING_PUBLIC_BOOKS=true to show these against the income at /open-books, for anyone to read.'
        )}{' '}
        Labels are public; amounts are in {currency}.
      </p>
      <table className="stack" aria-label="The fleet's costs">
        <thead>
          <tr>
            <th scope="col">Month</th>
            <th scope="col">What</th>
            <th scope="col">Amount</th>
            <th scope="col">Entered by</th>
            <th scope="col">Actions</th>
          </tr>
        </thead>
        <tbody>
          {costs.data.costs.length === 0 ? (
            <tr>
              <td colSpan={5} className="muted">
                None entered yet.
              </td>
            </tr>
          ) : (
            costs.data.costs.map((c) => (
              <tr key={c.id} data-cost={c.id}>
                <td data-label="Month">{c.month}</td>
                <td data-label="What">{c.label}</td>
                <td data-label="Amount">{formatMinor(c.amountMinor, c.currency)}</td>
                <td data-label="Entered by">{c.updatedBy ? `${c.enteredBy} (changed by ${c.updatedBy})` : c.enteredBy}</td>
                <td data-label="Actions">
                  <div className="actions">
                    <button type="button" className="secondary" onClick={() => setEditing(c)}>
                      Edit
                    </button>
                    <ConfirmButton label="Delete" title={`Delete "${c.label}" of ${c.month}?`} confirmLabel="Delete" disabled={remove.isPending} onConfirm={() => remove.mutate({ id: c.id })}>
                      <p>It leaves the open books for that month.</p>
                    </ConfirmButton>
                  </div>
                </td>
              </tr>
            ))
          )}
        </tbody>
      </table>
      {remove.error ? <p className="notice bad" role="alert">{remove.error.message}</p> : null}
      <CostForm
        key={editing?.id ?? 'new'}
        currency={currency}
        item={editing}
        onDone={() => {
          setEditing(null);
          void changed();
        }}
      />
    </>
  );
}
