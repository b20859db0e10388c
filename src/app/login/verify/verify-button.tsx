'use client';
import { useMutation } from '@tanstack/react-query';
import Link from 'next/link';
import { useRouter } from 'next/navigation';
import { useTRPC } from '~/trpc/react';

export function VerifyButton({ token }: { token: string }) {
  const trpc = useTRPC();
  const router = useRouter();
  const verify = useMutation(
    trpc.auth.verify.mutationOptions({
      onSuccess: () => {
        router.replace('/capsuls');
        router.refresh();
      },
    }),
  );
  return (
    <div className="stack">
      {verify.error ? (
        <div className="notice bad" role="alert">
          <p>{verify.error.message}</p>
          <Link href="/login">Ask for a new link</Link>
        </div>
      ) : (
        <p>Press the button to finish signing in.</p>
      )}
      <button type="button" disabled={verify.isPending || verify.isSuccess || !!verify.error} onClick={() => verify.mutate({ token })}>
        {verify.isPending || verify.isSuccess ? 'Signing in…' : 'Sign in'}
      </button>
    </div>
  );
}
