// A real SMTP server in the test process: the hub sends its sign-in mail here over SMTP (nodemailer), and
// tests wait for the message and read the link out of it.
import { SMTPServer } from 'smtp-server';

export type ReceivedMail = { to: string[]; raw: string };

export async function startSmtpReceiver() {
  const mails: ReceivedMail[] = [];
  const waiting = new Set<() => void>();
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS', 'AUTH'],
    logger: false,
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        mails.push({ to: session.envelope.rcptTo.map((r) => r.address.toLowerCase()), raw: Buffer.concat(chunks).toString('utf8') });
        for (const wake of waiting) wake();
        callback();
      });
    },
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.server.address() as { port: number }).port;
  return {
    url: `smtp://127.0.0.1:${port}`,
    mails,
    /** The sign-in link of the newest mail to this address that arrives after `since` mails. */
    async linkFor(address: string, since = 0, timeoutMs = 20_000): Promise<string> {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const mail = mails.slice(since).reverse().find((m) => m.to.includes(address.toLowerCase()));
        // Quoted-printable may fold long lines with "=\r\n"; unfold before looking for the link.
        const text = mail?.raw.replace(/=\r?\n/g, '').replace(/=3D/g, '=');
        const link = text?.match(/https:\/\/\S+\/login\/verify\?token=[A-Za-z0-9_-]{43}/)?.[0];
        if (link) return link;
        if (Date.now() > deadline) throw new Error(`no sign-in mail for ${address} within ${timeoutMs} ms`);
        await new Promise<void>((resolve) => {
          const wake = () => {
            waiting.delete(wake);
            resolve();
          };
          waiting.add(wake);
          setTimeout(wake, 250);
        });
      }
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
