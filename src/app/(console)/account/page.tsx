import type { Metadata } from 'next';
import { formatTime, LIMITS } from '~/components/format';
import { serverCaller } from '~/trpc/server';
import { BillingSection } from './billing-section';
import { SignOutEverywhere } from './sign-out-everywhere';

export const metadata: Metadata = { title: 'Account' };

export default async function AccountPage() {
  const me = await (await serverCaller()).account.me();
  return (
    <>
      <h1>Account</h1>
      <div className="card">
        <dl className="facts">
          <dt>Email</dt>
          <dd>{me.email}</dd>
          <dt>Since</dt>
          <dd>{formatTime(me.createdAt)}</dd>
          <dt>SSH keys</dt>
          <dd>{me.keys}</dd>
          <dt>Signed-in browsers</dt>
          <dd>{me.sessions}</dd>
          <dt>Role</dt>
          <dd>{me.isAdmin ? 'admin' : 'member'}</dd>
        </dl>
      </div>
      <BillingSection />
      <h2>What you hold, and your limits</h2>
      <table className="stack" aria-label="What you hold, and your limits">
        <thead>
          <tr>
            <th scope="col">Resource</th>
            <th scope="col">In use</th>
            <th scope="col">Allowed</th>
          </tr>
        </thead>
        <tbody>
          {LIMITS.map(({ name, label, amount }) => {
            const allowed = me.limits[name];
            return (
              <tr key={name} data-limit={name}>
                <td data-label="Resource">{label}</td>
                <td data-label="In use">{amount(me.usage[name])}</td>
                <td data-label="Allowed">{allowed === null ? 'no limit' : amount(allowed)}</td>
              </tr>
            );
          })}
        </tbody>
      </table>
      <p className="muted">Capsuls count until they are deleted. An admin sets the limits.</p>
      <div className="card">
        <SignOutEverywhere />
      </div>
    </>
  );
}
