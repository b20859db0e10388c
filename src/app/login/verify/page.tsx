import type { Metadata } from 'next';
import { VerifyButton } from './verify-button';

export const metadata: Metadata = { title: 'Sign in' };

// The link only opens this page; signing in takes a press of the button, so mail scanners that follow links
// cannot use up the single-use token.
export default async function VerifyPage({ searchParams }: { searchParams: Promise<{ token?: string }> }) {
  const { token } = await searchParams;
  return (
    <main id="main" className="narrow">
      <h1>Sign in to Capsul</h1>
      <div className="card">
        <VerifyButton token={token ?? ''} />
      </div>
    </main>
  );
}
