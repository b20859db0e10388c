import type { ReactNode } from 'react';

export const metadata = { title: 'Capsul', description: 'Virtual machines from your own hardware' };

export default function RootLayout({ children }: { children: ReactNode }) {
  return (
    <html lang="en">
      <body>{children}</body>
    </html>
  );
}
