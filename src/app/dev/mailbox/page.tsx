import type { Metadata } from 'next';
import { headers } from 'next/headers';
import { notFound } from 'next/navigation';
import { formatTime } from '~/components/format';
import { env } from '~/env';
import { devMailbox } from '~/hub/auth/mail';
import { CLIENT_ADDRESS_HEADER, isLoopbackAddress } from '~/hub/client-address';

export const metadata: Metadata = { title: 'Local mailbox' };
export const dynamic = 'force-dynamic';

/**
 * Development only (DEV_MODE, no SMTP_URL): the mail the hub would have sent, with its links. Only to a
 * browser on this machine: the links sign anyone in, and a hub bound to 0.0.0.0 is reachable from the LAN.
 */
export default async function MailboxPage() {
  if (!env().DEV_MODE || env().SMTP_URL) notFound();
  if (!isLoopbackAddress((await headers()).get(CLIENT_ADDRESS_HEADER))) notFound();
  const mails = devMailbox();
  return (
    <main id="main">
      <h1>Local mailbox</h1>
      <p className="muted">Development mode: no SMTP server is configured, so mail lands here (and in the hub&apos;s log).</p>
      {mails.length === 0 ? <p className="card empty">No mail yet.</p> : null}
      {mails.map((m, i) => (
        <article key={i} className="card">
          <p>
            <strong>{m.subject}</strong> → {m.to} <span className="muted">({formatTime(m.sentAt)})</span>
          </p>
          <pre className="secret">
            {m.text.split(/(https:\/\/\S+)/).map((part, j) => (part.startsWith('https://') ? <a key={j} href={part}>{part}</a> : part))}
          </pre>
        </article>
      ))}
    </main>
  );
}
