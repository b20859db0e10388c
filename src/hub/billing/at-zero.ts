// What happens as a balance runs out, run by the leading hub after each metering run (housekeeping.ts):
//   low      the balance will run out within BILLING_WARN_*: mailed once, until it lasts longer again;
//   zero     the balance is at or below zero: mailed, saying when the capsuls will be stopped and deleted;
//   stopped  after the stop grace at zero: every running capsul of the account is stopped (ACPI), again at
//            each run while the account stays at zero;
//   deleted  after the delete grace at zero: every capsul of the account is deleted;
//   restored a top-up (the balance above zero again) before a step cancels what was still to come.
// Each step is mailed and kept as a BillingStep; the stops and deletes go through the operations module
// (recorded there, actor `system`). Exempt accounts are skipped. Each step is taken by one conditional
// UPDATE of the account's BillingAccount row, so of two hubs running this at once one takes it and mails.
//
// And before a create (`checkCreateBalance`): the balance must cover BILLING_MIN_BALANCE_HOURS of the size.
import { log as rootLog, type Logger } from '~/lib/log';
import { fieldError } from '~/lib/trpc-errors';
import { canSendMail, sendMail } from '../auth/mail';
import type { Db } from '../db/client';
import { billingSteps } from '../metrics';
import { destroyCapsul, setCapsulState } from '../operations';
import { billingSettings } from './account-settings';
import { billingConfig, type BillingConfig } from './config';
import { balance } from './ledger';
import { formatMinor } from './money';
import { UNITS_PER_MINOR } from './metering';
import { priceHistory } from './prices';
import { billingSummary } from './summary';

export type StepName = 'low' | 'zero' | 'stopped' | 'deleted' | 'restored';
export type TakenStep = { accountId: string; email: string; step: StepName; capsuls: string[] };

type Mailer = (mail: { to: string; subject: string; text: string }) => Promise<void>;

const when = (d: Date) => d.toISOString().replace(/:\d\d\.\d+Z$/, ' UTC').replace('T', ' ');

async function mailed(mail: Mailer | null, log: Logger, m: { to: string; subject: string; text: string }): Promise<boolean> {
  if (!mail) {
    log.warn('billing: no mail is configured (SMTP_URL), so this notice was not sent', { to: m.to, subject: m.subject });
    return false;
  }
  try {
    await mail(m);
    return true;
  } catch (err) {
    log.error('billing: a notice could not be mailed', { to: m.to, subject: m.subject, err });
    return false;
  }
}

/** One pass over the accounts that hold capsuls or have a step under way. */
export async function enforceAtZero(db: Db, opts: { now?: Date; mail?: Mailer; log?: Logger; config?: BillingConfig } = {}): Promise<TakenStep[]> {
  const config = opts.config ?? billingConfig();
  if (!config) return [];
  const now = opts.now ?? new Date();
  const mail = opts.mail ?? (canSendMail() ? sendMail : null);
  const log = opts.log ?? rootLog;
  const holders = await db.capsul.findMany({ where: { deletedAt: null }, select: { ownerId: true }, distinct: ['ownerId'] });
  const underWay = await db.billingAccount.findMany({ where: { OR: [{ zeroSince: { not: null } }, { lowWarnedAt: { not: null } }] }, select: { accountId: true } });
  const ids = [...new Set([...holders.map((h) => h.ownerId), ...underWay.map((u) => u.accountId)])];
  const taken: TakenStep[] = [];
  for (const accountId of ids) {
    try {
      taken.push(...(await forAccount(db, accountId, { now, mail, log, config })));
    } catch (err) {
      log.error('billing: the steps at zero failed for an account', { accountId, err });
    }
  }
  return taken;
}

async function forAccount(db: Db, accountId: string, o: { now: Date; mail: Mailer | null; log: Logger; config: BillingConfig }): Promise<TakenStep[]> {
  const { now, config } = o;
  const account = await db.account.findUniqueOrThrow({ where: { id: accountId }, select: { email: true } });
  // No row yet: the defaults, and nothing under way. A row is made only when a step is taken.
  const row = (await db.billingAccount.findUnique({ where: { accountId } })) ?? { exempt: false, lowWarnedAt: null, zeroSince: null, stoppedAt: null, deletedAt: null };
  if (row.exempt) return [];
  const s = await billingSummary(db, accountId, now);
  const money = (m: number) => formatMinor(m, s.currency);
  const taken: TakenStep[] = [];
  const live = await db.capsul.findMany({ where: { ownerId: accountId, deletedAt: null }, select: { id: true, name: true, state: true } });

  /** Takes a step once: the conditional update decides; then it is recorded and mailed. */
  const take = async (step: StepName, where: object, data: object, subject: string, text: string, capsuls: string[] = []) => {
    await db.billingAccount.createMany({ data: [{ accountId }], skipDuplicates: true });
    const moved = await db.billingAccount.updateMany({ where: { accountId, ...where }, data });
    if (moved.count !== 1) return false;
    const sent = await mailed(o.mail, o.log, { to: account.email, subject, text });
    await db.billingStep.create({ data: { accountId, step, balanceMinor: s.balanceMinor, detail: `${text}${sent ? '' : ' (not mailed)'}`, createdAt: now } });
    o.log.info(`billing: ${step}`, { accountId, balanceMinor: s.balanceMinor, capsuls });
    billingSteps.inc({ step });
    taken.push({ accountId, email: account.email, step, capsuls });
    return true;
  };

  if (s.balanceMinor > 0) {
    if (row.zeroSince) {
      await take('restored', { zeroSince: row.zeroSince }, { zeroSince: null, stoppedAt: null, deletedAt: null },
        'Capsul: your balance is above zero again',
        `Your balance is ${money(s.balanceMinor)} again, so nothing more will happen to your capsuls for it. Capsuls that were stopped stay stopped until you start them.`);
      return taken;
    }
    const left = s.runsOutAt ? s.runsOutAt.getTime() - now.getTime() : Infinity;
    if (left <= config.warnMs && !row.lowWarnedAt) {
      await take('low', { lowWarnedAt: null }, { lowWarnedAt: now },
        'Capsul: your balance runs out soon',
        `Your balance is ${money(s.balanceMinor)}; at ${money(s.monthlyRateMinor)} a month it runs out around ${when(s.runsOutAt!)}. Top up to keep your capsuls.`);
    } else if (left > config.warnMs && row.lowWarnedAt) {
      await db.billingAccount.updateMany({ where: { accountId, lowWarnedAt: row.lowWarnedAt }, data: { lowWarnedAt: null } });
    }
    return taken;
  }

  // Nothing to stop or delete, or nothing being paid for (no prices set yet, free sizes, a 0 % multiplier):
  // a balance at zero then costs nobody anything, and a debt stays in the ledger for an admin.
  if (live.length === 0 || s.unitsPerHour === 0n) return taken;
  if (!row.zeroSince) {
    const stopAt = new Date(now.getTime() + config.stopGraceMs);
    const deleteAt = new Date(now.getTime() + config.deleteGraceMs);
    await take('zero', { zeroSince: null }, { zeroSince: now },
      'Capsul: your balance is at zero',
      `Your balance is ${money(s.balanceMinor)}. Unless you top up, your capsuls will be stopped at ${when(stopAt)} and deleted at ${when(deleteAt)}.`);
    return taken;
  }
  const atZeroMs = now.getTime() - row.zeroSince.getTime();
  const settled = (state: string) => state !== 'pending' && state !== 'creating';
  if (atZeroMs >= config.deleteGraceMs) {
    const doomed = live.filter((c) => settled(c.state));
    // Deleted by the pass that takes the step, and again at each later run for what could not be deleted (a
    // host that did not answer); a pass that lost the step to another leaves it to that one.
    const mine = row.deletedAt ? true : await take('deleted', { zeroSince: row.zeroSince, deletedAt: null }, { deletedAt: now },
        'Capsul: your capsuls are being deleted',
        `Your balance stayed at or below zero (${money(s.balanceMinor)}) since ${when(row.zeroSince)}, so your capsuls ${doomed.map((c) => c.name).join(', ')} are deleted now.`,
        doomed.map((c) => c.id));
    if (!mine) return taken;
    for (const c of doomed) await destroyCapsul(db, 'system', c.id, {}).catch((err: unknown) => o.log.warn('billing: could not delete a capsul at zero; trying again next run', { capsulId: c.id, err }));
    return taken;
  }
  if (atZeroMs >= config.stopGraceMs) {
    const running = live.filter((c) => c.state === 'running');
    // As for deletes: the pass that takes the step, then each later run (a capsul started again while at zero
    // is stopped again).
    const mine = row.stoppedAt ? true : await take('stopped', { zeroSince: row.zeroSince, stoppedAt: null }, { stoppedAt: now },
        'Capsul: your capsuls are stopped',
        `Your balance stayed at or below zero (${money(s.balanceMinor)}) since ${when(row.zeroSince)}, so your capsuls are stopped now. Unless you top up, they will be deleted at ${when(new Date(row.zeroSince.getTime() + config.deleteGraceMs))}.`,
        running.map((c) => c.id));
    if (!mine) return taken;
    for (const c of running) await setCapsulState(db, 'system', c.id, 'stop', {}).catch((err: unknown) => o.log.warn('billing: could not stop a capsul at zero; trying again next run', { capsulId: c.id, err }));
  }
  return taken;
}

/**
 * Refuses a create (nothing written) whose owner's balance does not cover BILLING_MIN_BALANCE_HOURS of the
 * size at its price now, naming the shortfall. Billing off, an exempt account, a size without a price or a
 * hand-sized capsul: no check.
 */
export async function checkCreateBalance(db: Db, ask: { accountId: string | null; sizeId: string | null; now?: Date }): Promise<void> {
  const config = billingConfig();
  if (!config || !ask.sizeId) return;
  const settings = ask.accountId ? await billingSettings(db, ask.accountId) : { multiplierPercent: 100, exempt: false };
  if (settings.exempt) return;
  const monthly = (await priceHistory(db)).at(ask.sizeId, ask.now ?? new Date());
  if (monthly === null) return;
  const units = BigInt(monthly) * BigInt(settings.multiplierPercent) * BigInt(config.minBalanceHours);
  const need = Number((units + UNITS_PER_MINOR - 1n) / UNITS_PER_MINOR);
  const have = ask.accountId ? await balance(db, ask.accountId) : 0;
  if (have >= need && (need > 0 || have >= 0)) return;
  const m = (n: number) => formatMinor(n, config.currency);
  throw fieldError(
    'size',
    `your balance is ${m(have)}, and this size needs at least ${m(need)} (${config.minBalanceHours} hours of it) to start: top up ${m(need - have)} or more, or pick a smaller size`,
    'PAYMENT_REQUIRED',
  );
}
