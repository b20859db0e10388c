import Link from 'next/link';

/**
 * What a page that failed to render says (error.tsx, and global-error.tsx when even the layout failed).
 * What went wrong stays in the hub's log; the reference lets the operator find it there.
 */
export function ErrorNotice({ message, digest, onAgain }: { message: string; digest?: string; onAgain: () => void }) {
  return (
    <main id="main" className="narrow" role="alert">
      <h1>Something went wrong</h1>
      <div className="card">
        <p style={{ marginTop: 0 }}>{message}</p>
        {digest ? (
          <p className="muted">
            If it keeps happening, tell the operator and give them this reference, which points to the details in
            the hub&apos;s log: <code>{digest}</code>
          </p>
        ) : null}
        <div className="actions">
          <button type="button" onClick={onAgain}>
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
