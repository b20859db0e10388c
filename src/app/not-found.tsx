import type { Metadata } from 'next';
import Link from 'next/link';

export const metadata: Metadata = { title: 'Not found' };

/** Any address with nothing behind it, and a capsul that is not there (or not yours: the same answer). */
export default function NotFound() {
  return (
    <main id="main" className="narrow">
      <h1>Nothing here</h1>
      <div className="card">
        <p style={{ marginTop: 0 }}>
          There is no page at this address. The link may be mistyped or old, or what it pointed to (a capsul, for
          instance) was deleted or belongs to another account.
        </p>
        <div className="actions">
          <Link className="button" href="/capsuls">
            Go to your capsuls
          </Link>
        </div>
      </div>
    </main>
  );
}
