import Link from 'next/link';
import { formatTime } from '~/components/format';
import { formatMinor } from '~/hub/billing/money';
import { serverCaller } from '~/trpc/server';

const KIND: Record<string, string> = { payment: 'Payment', usage: 'Usage', credit: 'Credit', debit: 'Debit', refund: 'Refund' };

/** The account's money: balance, what it pays a month now, when that runs out, and the ledger. Nothing while billing is off. */
export async function BillingSection() {
  const caller = await serverCaller();
  const status = await caller.billing.status();
  if (!status.enabled) return null;
  const a = await caller.billing.account({ limit: 100 });
  const money = (m: number) => formatMinor(m, a.currency);
  // An hour that did not yet add up to a whole cent is in the ledger as 0: not worth a line here.
  const lines = a.ledger.filter((e) => !(e.kind === 'usage' && e.amountMinor === 0));
  // What happened at zero, newest first: shown while something is under way (not after a top-up ended it).
  const latest = a.steps[0];
  const underWay = latest && latest.step !== 'restored' && latest.step !== 'low' ? latest : null;
  return (
    <>
      <h2>Balance</h2>
      <div className="card">
        <dl className="facts">
          <dt>Balance</dt>
          <dd data-testid="balance">{money(a.balanceMinor)}</dd>
          <dt>You pay now</dt>
          <dd>{money(a.monthlyRateMinor)} a month</dd>
          <dt>Runs out</dt>
          <dd>{a.runsOutAt ? `around ${formatTime(a.runsOutAt)}` : a.balanceMinor <= 0 && a.monthlyRateMinor > 0 ? 'now' : '—'}</dd>
          {a.multiplierPercent !== 100 ? (
            <>
              <dt>Your rate</dt>
              <dd>{a.multiplierPercent} % of the listed prices</dd>
            </>
          ) : null}
        </dl>
        {underWay ? (
          <p className="notice bad" role="status">
            {formatTime(underWay.createdAt)}: {underWay.detail}
          </p>
        ) : null}
        <p>
          <Link href="/account/top-up">Top up</Link>
        </p>
      </div>
      <table className="stack" aria-label="Ledger">
        <thead>
          <tr>
            <th scope="col">When</th>
            <th scope="col">What</th>
            <th scope="col">Capsul</th>
            <th scope="col">Amount</th>
          </tr>
        </thead>
        <tbody>
          {lines.length === 0 ? (
            <tr>
              <td colSpan={4} className="muted">
                Nothing yet.
              </td>
            </tr>
          ) : (
            lines.map((e) => (
              <tr key={e.id} data-kind={e.kind}>
                <td data-label="When">{formatTime(e.createdAt)}</td>
                <td data-label="What">
                  {KIND[e.kind] ?? e.kind}
                  {e.kind === 'usage' && e.usageFrom && e.usageUntil ? ` ${formatTime(e.usageFrom)} – ${formatTime(e.usageUntil)}` : ''}
                  {e.note ? ` (${e.note})` : e.provider ? ` (${e.provider})` : ''}
                </td>
                <td data-label="Capsul">{e.capsulId ? <Link href={`/capsuls/${e.capsulId}`}>{e.capsulName ?? e.capsulId}</Link> : '—'}</td>
                <td data-label="Amount">{money(e.amountMinor)}</td>
              </tr>
            ))
          )}
        </tbody>
      </table>
      <p className="muted">
        Each capsul is charged per hour, or part of one, from when a host took it until it is deleted. When the balance reaches zero you are mailed; capsuls are
        stopped, and later deleted, if it stays there.
      </p>
    </>
  );
}
