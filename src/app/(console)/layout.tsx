import { TRPCError } from '@trpc/server';
import { redirect } from 'next/navigation';
import type { ReactNode } from 'react';
import { serverCaller } from '~/trpc/server';
import { LiveUpdates } from './live-updates';
import { TopBar } from './top-bar';

export const dynamic = 'force-dynamic';

/** Every console page needs a signed-in account; the bar shows the admin pages to admins only. */
export default async function ConsoleLayout({ children }: { children: ReactNode }) {
  const caller = await serverCaller();
  const me = await caller.account.me().catch((err: unknown) => {
    if (err instanceof TRPCError && (err.code === 'UNAUTHORIZED' || err.code === 'FORBIDDEN')) return null;
    throw err;
  });
  if (!me) redirect('/login');
  return (
    <>
      <TopBar email={me.email} isAdmin={me.isAdmin} />
      <LiveUpdates accountId={me.id} />
      <main id="main">{children}</main>
    </>
  );
}
