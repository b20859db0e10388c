// Outgoing mail. With SMTP_URL, through nodemailer. Without it, only with DEV_MODE (a local try, the quick
// start): the message is written to the hub's log and kept for the /dev/mailbox page. A hub with neither
// cannot mail sign-in links, and says so at start (`sayHowSignInWorks`) and to whoever asks for one.
import path from 'node:path';
import nodemailer, { type Transporter } from 'nodemailer';
import { env, type Env } from '~/env';
import { isLoopbackUrl } from '~/lib/loopback';
import { log, type Logger } from '~/lib/log';
import { processSingleton } from '~/lib/process-singleton';

export type Mail = { to: string; subject: string; text: string; sentAt: Date };

const state = processSingleton('mail', () => ({ mailer: undefined as Transporter | undefined, devMailbox: [] as Mail[] }));

export function devMailbox(): Mail[] {
  return state.devMailbox;
}

/** Whether mail goes anywhere: to an SMTP server, or (DEV_MODE) to the log and the local mailbox. */
export function canSendMail(): boolean {
  return !!env().SMTP_URL || env().DEV_MODE;
}

export async function sendMail(mail: Omit<Mail, 'sentAt'>): Promise<void> {
  const { SMTP_URL, MAIL_FROM, DEV_MODE } = env();
  if (SMTP_URL) {
    state.mailer ??= nodemailer.createTransport(SMTP_URL);
    await state.mailer.sendMail({ from: MAIL_FROM, to: mail.to, subject: mail.subject, text: mail.text });
    return;
  }
  // The text holds a sign-in link, which signs anyone in who reads it: never in a production log.
  if (!DEV_MODE) throw new Error('no SMTP_URL is configured, and without DEV_MODE mail is not written to the log');
  log.info('mail (no SMTP_URL configured; DEV_MODE, so it is written here)', { to: mail.to, subject: mail.subject, text: mail.text });
  const box = devMailbox();
  box.unshift({ ...mail, sentAt: new Date() });
  box.length = Math.min(box.length, 50);
}

/**
 * At start, in plain words: where the console is and how to sign in to it (where the sign-in link goes).
 * Said as a warning only when nobody can sign in, or when DEV_MODE runs on a hub that is not on localhost.
 */
export function sayHowSignInWorks(config: Env, hubLog: Logger): void {
  const url = config.PUBLIC_URL;
  // With the generated local CA, a browser does not know the certificate yet.
  const ca = config.TLS_CERT_FILE ? '' : ` (its certificate is from the local CA ${path.join(config.DATA_DIR, 'tls/ca.pem')}: trust that in your browser, or accept the warning once)`;
  const where = `The console is at ${url}${ca}`;
  if (config.SMTP_URL) {
    hubLog.info(`${where}: sign in with your email address; the sign-in link is mailed to it (SMTP_URL).`);
  } else if (config.DEV_MODE) {
    const say = isLoopbackUrl(url) ? hubLog.info.bind(hubLog) : hubLog.warn.bind(hubLog);
    say(
      `${where}: sign in with any email address. No mail server is set (SMTP_URL), so with DEV_MODE the sign-in link is written to this log and shown on ${url}/dev/mailbox (to a browser on this machine only). For production, set SMTP_URL and turn DEV_MODE off.`,
    );
  } else {
    hubLog.error(
      `${where}, but nobody can sign in to the console: SMTP_URL is not set, so sign-in links cannot be mailed. Set SMTP_URL (smtp://user:password@host:587 or smtps://…:465), or DEV_MODE=true for a local try (links then go to this log).`,
    );
  }
}
