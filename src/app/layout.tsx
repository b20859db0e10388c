import type { Metadata, Viewport } from 'next';
import type { ReactNode } from 'react';
import { TRPCReactProvider } from '~/trpc/react';
import './globals.css';

export const metadata: Metadata = { title: { default: 'Capsul', template: '%s · Capsul' }, description: 'Virtual machines from your own hardware' };
export const viewport: Viewport = { width: 'device-width', initialScale: 1 };
// Every page is rendered per request, none prerendered at build: each carries the script nonce of its own
// Content-Security-Policy (src/hub/security-headers.ts); a prerendered page's scripts would have none.
export const dynamic = 'force-dynamic';

export default function RootLayout({ children }: { children: ReactNode }) {
  return (
    <html lang="en">
      <body>
        <a className="skip" href="#main">Skip to content</a>
        <TRPCReactProvider>{children}</TRPCReactProvider>
      </body>
    </html>
  );
}
