'use client';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { fieldErrors } from '~/components/errors';
import { controlProps, Field } from '~/components/field';
import { formatTime } from '~/components/format';
import { formatMinor, fromDecimal } from '~/hub/billing/money';
import { useTRPC } from '~/trpc/react';

/** An amount as typed, in minor units; NaN (which the hub refuses, naming the field) when it is not one. */
const minorOf = (text: string, currency: string) => fromDecimal(text, currency) ?? Number.NaN;

function PriceForm({ currency, sizes, onSaved }: { currency: string; sizes: { sizeId: string; name: string }[]; onSaved: () => void }) {
  const trpc = useTRPC();
  const [size, setSize] = useState(sizes[0]?.sizeId ?? '');
  const [amount, setAmount] = useState('');
  const [sent, setSent] = useState<Record<string, string>>();
  const set = useMutation(trpc.billing.setPrice.mutationOptions({ onSuccess: onSaved }));
  const now = { size, monthlyMinor: amount };
  const errors = fieldErrors(set.error, sent, now);
  return (
    <form
      className="stack card"
      noValidate
      onSubmit={(e) => {
        e.preventDefault();
        setSent(now);
        set.mutate({ size, monthlyMinor: minorOf(amount, currency) });
      }}
    >
      <div className="filters">
        <Field id="price-size" label="Size" error={errors.size}>
          <select value={size} onChange={(e) => setSize(e.target.value)} {...controlProps('price-size', errors.size)}>
            {sizes.map((s) => (
              <option key={s.sizeId} value={s.sizeId}>
                {s.name}
              </option>
            ))}
          </select>
        </Field>
        <Field id="price-amount" label={`Price a month (${currency})`} error={errors.monthlyMinor}>
          <input type="text" inputMode="decimal" placeholder="7.30" value={amount} onChange={(e) => setAmount(e.target.value)} {...controlProps('price-amount', errors.monthlyMinor)} />
        </Field>
      </div>
      <p className="muted">The new price applies from now on: hours already begun keep the price they began with.</p>
      {errors.form ? <p className="notice bad" role="alert">{errors.form}</p> : null}
      <div>
        <button type="submit" disabled={set.isPending}>
          Set the price
        </button>
      </div>
    </form>
  );
}

function AdjustForm({ currency, onSaved }: { currency: string; onSaved: () => void }) {
  const trpc = useTRPC();
  const [account, setAccount] = useState('');
  const [amount, setAmount] = useState('');
  const [direction, setDirection] = useState<'credit' | 'debit'>('credit');
  const [note, setNote] = useState('');
  // One key per filled-in form: sent twice (a double click, a retry), it credits once.
  const [key, setKey] = useState(() => crypto.randomUUID());
  const [sent, setSent] = useState<Record<string, string>>();
  const adjust = useMutation(
    trpc.billing.adjust.mutationOptions({
      onSuccess: () => {
        setKey(crypto.randomUUID());
        onSaved();
      },
    }),
  );
  const now = { account, amountMinor: amount, note };
  const errors = fieldErrors(adjust.error, sent, now);
  return (
    <form
      className="stack card"
      noValidate
      onSubmit={(e) => {
        e.preventDefault();
        setSent(now);
        const minor = minorOf(amount, currency);
        adjust.mutate({ account, amountMinor: direction === 'credit' ? minor : -minor, note, idempotencyKey: key });
      }}
    >
      <div className="filters">
        <Field id="adjust-account" label="Account email" error={errors.account}>
          <input type="email" value={account} onChange={(e) => setAccount(e.target.value)} {...controlProps('adjust-account', errors.account)} />
        </Field>
        <Field id="adjust-direction" label="Credit or debit">
          <select value={direction} onChange={(e) => setDirection(e.target.value as 'credit' | 'debit')} {...controlProps('adjust-direction')}>
            <option value="credit">Credit (cash, bank transfer, a gift)</option>
            <option value="debit">Debit (a correction, a fee)</option>
          </select>
        </Field>
        <Field id="adjust-amount" label={`Amount (${currency})`} error={errors.amountMinor}>
          <input type="text" inputMode="decimal" placeholder="20.00" value={amount} onChange={(e) => setAmount(e.target.value)} {...controlProps('adjust-amount', errors.amountMinor)} />
        </Field>
      </div>
      <Field id="adjust-note" label="Why (kept in the ledger, shown to the account)" error={errors.note}>
        <input type="text" value={note} onChange={(e) => setNote(e.target.value)} {...controlProps('adjust-note', errors.note)} />
      </Field>
      {errors.form ? <p className="notice bad" role="alert">{errors.form}</p> : null}
      {adjust.data && !adjust.isPending ? (
        <p className="notice good" role="status">
          {adjust.data.created ? 'Done' : 'Already done'}: {adjust.data.account} has {formatMinor(adjust.data.balanceMinor, currency)}.
        </p>
      ) : null}
      <div>
        <button type="submit" disabled={adjust.isPending}>
          {direction === 'credit' ? 'Credit' : 'Debit'}
        </button>
      </div>
    </form>
  );
}

function AccountTermsForm({ initial, onSaved }: { initial: { account: string; multiplierPercent: number; exempt: boolean }; onSaved: () => void }) {
  const trpc = useTRPC();
  const [account, setAccount] = useState(initial.account);
  const [multiplier, setMultiplier] = useState(String(initial.multiplierPercent));
  const [exempt, setExempt] = useState(initial.exempt);
  const [sent, setSent] = useState<Record<string, string>>();
  const set = useMutation(trpc.billing.setAccount.mutationOptions({ onSuccess: onSaved }));
  const now = { account, multiplierPercent: multiplier };
  const errors = fieldErrors(set.error, sent, now);
  return (
    <form
      className="stack card"
      noValidate
      onSubmit={(e) => {
        e.preventDefault();
        setSent(now);
        set.mutate({ account, multiplierPercent: Number(multiplier), exempt });
      }}
    >
      <div className="filters">
        <Field id="terms-account" label="Account email" error={errors.account}>
          <input type="email" value={account} onChange={(e) => setAccount(e.target.value)} {...controlProps('terms-account', errors.account)} />
        </Field>
        <Field id="terms-multiplier" label="Multiplier (% of the prices)" error={errors.multiplierPercent}>
          <input type="text" inputMode="numeric" value={multiplier} onChange={(e) => setMultiplier(e.target.value)} {...controlProps('terms-multiplier', errors.multiplierPercent)} />
        </Field>
        <label className="choice">
          <input type="checkbox" checked={exempt} onChange={(e) => setExempt(e.target.checked)} />
          <span>Exempt: never stopped or deleted for its balance</span>
        </label>
      </div>
      {errors.form ? <p className="notice bad" role="alert">{errors.form}</p> : null}
      {set.isSuccess && !set.isPending ? <p className="notice good" role="status">Saved.</p> : null}
      <div>
        <button type="submit" disabled={set.isPending}>
          Save the terms
        </button>
      </div>
    </form>
  );
}

export function BillingManager({ currency }: { currency: string }) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const prices = useQuery(trpc.billing.prices.queryOptions());
  const accounts = useQuery(trpc.billing.accounts.queryOptions());
  const [editing, setEditing] = useState({ account: '', multiplierPercent: 100, exempt: false });
  const money = (m: number | null) => (m === null ? 'no price' : formatMinor(m, currency));
  const changed = () =>
    Promise.all([queryClient.invalidateQueries({ queryKey: trpc.billing.prices.queryKey() }), queryClient.invalidateQueries({ queryKey: trpc.billing.accounts.queryKey() })]);
  if (!prices.data || !accounts.data) return null;
  return (
    <>
      <h2>Prices</h2>
      <table className="stack" aria-label="Prices">
        <thead>
          <tr>
            <th scope="col">Size</th>
            <th scope="col">A month now</th>
            <th scope="col">Set for later</th>
          </tr>
        </thead>
        <tbody>
          {prices.data.sizes.map((s) => (
            <tr key={s.sizeId} data-size={s.sizeId}>
              <td data-label="Size">{s.name}</td>
              <td data-label="A month now">{money(s.monthlyMinor)}</td>
              <td data-label="Set for later">{s.upcoming.map((u) => `${money(u.monthlyMinor)} from ${formatTime(u.from)}`).join('; ') || '—'}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <PriceForm currency={currency} sizes={prices.data.sizes} onSaved={changed} />

      <h2>Credit or debit an account</h2>
      <AdjustForm currency={currency} onSaved={changed} />

      <h2>Accounts</h2>
      <table className="stack" aria-label="Accounts">
        <thead>
          <tr>
            <th scope="col">Account</th>
            <th scope="col">Balance</th>
            <th scope="col">Multiplier</th>
            <th scope="col">At zero</th>
            <th scope="col">Actions</th>
          </tr>
        </thead>
        <tbody>
          {accounts.data.map((a) => (
            <tr key={a.account} data-account={a.account}>
              <td data-label="Account">{a.account}</td>
              <td data-label="Balance">{money(a.balanceMinor)}</td>
              <td data-label="Multiplier">{a.multiplierPercent} %</td>
              <td data-label="At zero">
                {a.exempt ? 'exempt' : a.deletedAt ? `deleted ${formatTime(a.deletedAt)}` : a.stoppedAt ? `stopped ${formatTime(a.stoppedAt)}` : a.zeroSince ? `since ${formatTime(a.zeroSince)}` : '—'}
              </td>
              <td data-label="Actions">
                <button type="button" className="secondary" onClick={() => setEditing({ account: a.account, multiplierPercent: a.multiplierPercent, exempt: a.exempt })}>
                  Edit terms
                </button>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      <h2>An account&apos;s terms</h2>
      <AccountTermsForm key={editing.account} initial={editing} onSaved={changed} />
    </>
  );
}
