import { TRPCError } from '@trpc/server';
import type { Metadata } from 'next';
import { notFound } from 'next/navigation';
import { formatMinor } from '~/hub/billing/money';
import { serverCaller } from '~/trpc/server';

export const metadata: Metadata = { title: 'Open books' };
export const dynamic = 'force-dynamic';

const monthName = new Intl.DateTimeFormat('en', { month: 'long', year: 'numeric', timeZone: 'UTC' });

/** "2026-12" → "December 2026". */
function monthLabel(month: string): string {
  const [y, m] = month.split('-').map(Number) as [number, number];
  return monthName.format(new Date(Date.UTC(y, m - 1, 1)));
}

/**
 * The fleet's costs month by month against its income, for anyone, signed in or not (like /login, it is
 * outside the console's layout, which needs a session). Only when the hub publishes its books
 * (BILLING_PUBLIC_BOOKS); otherwise the page is not there at all.
 */
export default async function OpenBooksPage() {
  const books = await (await serverCaller()).billing.openBooks().catch((err: unknown) => {
    if (err instanceof TRPCError && err.code === 'NOT_FOUND') return null;
    throw err;
  });
  if (!books) notFound();
  const money = (m: number) => formatMinor(m, books.currency);
  const { totals } = books;
  return (
    <main id="main">
      <h1>Open books</h1>
      <p>
        What running this fleet costs each month, as entered by its admins, against what came in. All amounts are
        in {books.currency}. Income is the payments made that month (by card or Bitcoin) less refunds; credits an
        admin enters by hand are not counted. Months run in UTC; the current month is not over yet. No one&apos;s
        account is shown here, only totals.
      </p>
      <div className="card">
        <dl className="facts">
          <dt>Costs, last 12 months</dt>
          <dd>{money(totals.costsMinor)}</dd>
          <dt>Income, last 12 months</dt>
          <dd>{money(totals.incomeMinor)}</dd>
          <dt>Balance</dt>
          <dd data-testid="books-balance">{money(totals.balanceMinor)}</dd>
        </dl>
      </div>
      {books.months.map((m) => (
        <section key={m.month} data-month={m.month}>
          <h2>{monthLabel(m.month)}</h2>
          <table aria-label={`${monthLabel(m.month)} in ${books.currency}`}>
            <thead>
              <tr>
                <th scope="col">What</th>
                <th scope="col">Amount ({books.currency})</th>
              </tr>
            </thead>
            <tbody>
              {m.costs.length === 0 ? (
                <tr>
                  <td className="muted">No costs entered</td>
                  <td>{money(0)}</td>
                </tr>
              ) : (
                m.costs.map((c, i) => (
                  <tr key={i}>
                    <td>{c.label}</td>
                    <td>{money(c.amountMinor)}</td>
                  </tr>
                ))
              )}
              <tr>
                <th scope="row">Costs</th>
                <td>{money(m.costsMinor)}</td>
              </tr>
              <tr>
                <th scope="row">Income (payments less refunds)</th>
                <td>{money(m.incomeMinor)}</td>
              </tr>
              <tr>
                <th scope="row">Balance</th>
                <td className={m.balanceMinor < 0 ? 'error' : undefined}>{money(m.balanceMinor)}</td>
              </tr>
            </tbody>
          </table>
        </section>
      ))}
    </main>
  );
}
