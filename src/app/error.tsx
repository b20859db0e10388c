'use client';
import Link from 'next/link';
import { useRouter } from 'next/navigation';
import { startTransition } from 'react';

/**
 * A page that failed to render (the hub could not read its database, say). What went wrong stays in the
 * hub's log; the reference lets the operator find it there.
 */
export default function ErrorPage({ error, reset }: { error: Error & { digest?: string }; reset: () => void }) {
  const router = useRouter();
  // The page's server part is rendered again (refresh), then this boundary is cleared (reset).
  const again = () => startTransition(() => {
    router.refresh();
    reset();
  });
  return (
    <main id="main" className="narrow" role="alert">
      <h1>Something went wrong</h1>
      <div className="card">
        <p style={{ marginTop: 0 }}>
          This page could not be shown just now. It is most often brief (the hub restarting, its database
          unreachable for a moment): try again in a few seconds.
        </p>
        {error.digest ? (
          <p className="muted">
            If it keeps happening, tell the operator and give them this reference, which points to the details in
            the hub&apos;s log: <code>{error.digest}</code>
          </p>
        ) : null}
        <div className="actions">
          <button type="button" onClick={again}>
            Try again
          </button>
          <Link className="button secondary" href="/capsuls">
            Go to your capsuls
          </Link>
        </div>
      </div>
    </main>
  );
}
