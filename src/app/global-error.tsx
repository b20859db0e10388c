'use client';
import Link from 'next/link';
import './globals.css';

/** When even the outer layout failed: the same message as error.tsx, with its own html and body. */
export default function GlobalError({ error, reset }: { error: Error & { digest?: string }; reset: () => void }) {
  return (
    <html lang="en">
      <body>
        <main id="main" className="narrow" role="alert">
          <h1>Something went wrong</h1>
          <div className="card">
            <p style={{ marginTop: 0 }}>The console could not be shown just now. Try again in a few seconds.</p>
            {error.digest ? (
              <p className="muted">
                If it keeps happening, tell the operator and give them this reference, which points to the details in
                the hub&apos;s log: <code>{error.digest}</code>
              </p>
            ) : null}
            <div className="actions">
              <button type="button" onClick={() => reset()}>
                Try again
              </button>
              <Link className="button secondary" href="/capsuls">
                Go to your capsuls
              </Link>
            </div>
          </div>
        </main>
      </body>
    </html>
  );
}
