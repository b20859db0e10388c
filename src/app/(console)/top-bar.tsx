'use client';
import { useMutation } from '@tanstack/react-query';
import Link from 'next/link';
import { usePathname, useRouter } from 'next/navigation';
import { useTRPC } from '~/trpc/react';

const LINKS = [
  { href: '/capsuls', label: 'Capsuls' },
  { href: '/keys', label: 'SSH keys' },
  { href: '/account', label: 'Account' },
];
const ADMIN_LINKS = [
  { href: '/admin/hosts', label: 'Hosts' },
  { href: '/admin/operations', label: 'Operations' },
  { href: '/admin/drift', label: 'Drift' },
  { href: '/admin/usage', label: 'Usage' },
  { href: '/admin/limits', label: 'Limits' },
  { href: '/admin/billing', label: 'Billing' },
  { href: '/admin/capsuls', label: 'All capsuls' },
];

export function TopBar({ email, isAdmin }: { email: string; isAdmin: boolean }) {
  const pathname = usePathname();
  const router = useRouter();
  const trpc = useTRPC();
  const logout = useMutation(trpc.auth.logout.mutationOptions({ onSuccess: () => router.replace('/login') }));
  const link = ({ href, label }: { href: string; label: string }) => (
    <Link key={href} href={href} aria-current={pathname === href || pathname.startsWith(`${href}/`) ? 'page' : undefined}>
      {label}
    </Link>
  );
  return (
    <header className="topbar">
      <Link href="/capsuls" className="brand">
        Capsul
      </Link>
      <nav aria-label="Console">
        {LINKS.map(link)}
        {isAdmin ? ADMIN_LINKS.map(link) : null}
      </nav>
      <span className="who">{email}</span>
      <button type="button" className="secondary" onClick={() => logout.mutate({})} disabled={logout.isPending}>
        Sign out
      </button>
    </header>
  );
}
