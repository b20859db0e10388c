'use client';
import { ErrorNotice } from './error-notice';
import './globals.css';

/** When even the outer layout failed: the same notice as error.tsx, with its own html and body. */
export default function GlobalError({ error, reset }: { error: Error & { digest?: string }; reset: () => void }) {
  return (
    <html lang="en">
      <body>
        <ErrorNotice message="The console could not be shown just now. Try again in a few seconds." digest={error.digest} onAgain={() => reset()} />
      </body>
    </html>
  );
}
