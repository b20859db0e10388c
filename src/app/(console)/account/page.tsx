import type { Metadata } from 'next';
import { formatTime } from '~/components/format';
import { serverCaller } from '~/trpc/server';
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
          <dt>Capsuls</dt>
          <dd>{me.capsuls}</dd>
          <dt>SSH keys</dt>
          <dd>{me.keys}</dd>
          <dt>Signed-in browsers</dt>
          <dd>{me.sessions}</dd>
          <dt>Role</dt>
          <dd>{me.isAdmin ? 'admin' : 'member'}</dd>
        </dl>
      </div>
      <div className="card">
        <SignOutEverywhere />
      </div>
    </>
  );
}
