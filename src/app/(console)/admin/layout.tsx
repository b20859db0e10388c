import { notFound } from 'next/navigation';
import type { ReactNode } from 'react';
import { serverCaller } from '~/trpc/server';

/** Admin pages exist only for admins: anyone else gets the same "not found" as for a page that does not exist. */
export default async function AdminLayout({ children }: { children: ReactNode }) {
  const me = await (await serverCaller()).account.me();
  if (!me.isAdmin) notFound();
  return children;
}
