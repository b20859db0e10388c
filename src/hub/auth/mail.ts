// Outgoing mail. With SMTP_URL, through nodemailer; without it, the message is written to the hub's log
// (the quick start's way to sign in) and, with DEV_MODE, kept for the /dev/mailbox page.
import nodemailer, { type Transporter } from 'nodemailer';
import { env } from '~/env';
import { log } from '~/lib/log';
import { processSingleton } from '~/lib/process-singleton';

export type Mail = { to: string; subject: string; text: string; sentAt: Date };

const state = processSingleton('mail', () => ({ mailer: undefined as Transporter | undefined, devMailbox: [] as Mail[] }));

export function devMailbox(): Mail[] {
  return state.devMailbox;
}

export async function sendMail(mail: Omit<Mail, 'sentAt'>): Promise<void> {
  const { SMTP_URL, MAIL_FROM, DEV_MODE } = env();
  if (SMTP_URL) {
    state.mailer ??= nodemailer.createTransport(SMTP_URL);
    await state.mailer.sendMail({ from: MAIL_FROM, to: mail.to, subject: mail.subject, text: mail.text });
    return;
  }
  log.info('mail (no SMTP_URL configured, so it is written here)', { to: mail.to, subject: mail.subject, text: mail.text });
  if (DEV_MODE) {
    const box = devMailbox();
    box.unshift({ ...mail, sentAt: new Date() });
    box.length = Math.min(box.length, 50);
  }
}
