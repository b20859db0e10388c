'use client';
import { useRouter } from 'next/navigation';
import { startTransition } from 'react';
import { ErrorNotice } from './error-notice';

/** A page that failed to render (the hub could not read its database, say). */
export default function ErrorPage({ error, reset }: { error: Error & { digest?: string }; reset: () => void }) {
  const router = useRouter();
  // The page's server part is rendered again (refresh), then this boundary is cleared (reset).
  const again = () => startTransition(() => {
    router.refresh();
    reset();
  });
  return (
    <ErrorNotice
      message="This page could not be shown just now. It is most often brief (the hub restarting, its database unreachable for a moment): try again in a few seconds."
      digest={error.digest}
      onAgain={again}
    />
  );
}
