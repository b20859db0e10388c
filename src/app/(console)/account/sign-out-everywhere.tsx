'use client';
import { useMutation } from '@tanstack/react-query';
import { useRouter } from 'next/navigation';
import { useTRPC } from '~/trpc/react';

export function SignOutEverywhere() {
  const trpc = useTRPC();
  const router = useRouter();
  const logout = useMutation(trpc.auth.logout.mutationOptions({ onSuccess: () => router.replace('/login') }));
  return (
    <>
      <p>Lost a device? End every session of this account, this one included.</p>
      <button type="button" className="secondary" disabled={logout.isPending} onClick={() => logout.mutate({ everywhere: true })}>
        Sign out everywhere
      </button>
    </>
  );
}
