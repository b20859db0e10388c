// The operator's billing commands: an account's balance and ledger, an admin's credit or debit with a note,
// and the price list. Amounts are typed and shown in BILLING_CURRENCY's units ("12.50"), sent in minor units.
import { randomUUID } from 'node:crypto';
import { formatMinor, fromDecimal } from '~/hub/billing/money';
import type { HubAdminClient } from './hub-admin-client';
import { UsageError } from './usage-error';


export type BillingValues = { json?: boolean; note?: string; limit?: string; multiplier?: string; exempt?: string };

async function currencyOf(hub: HubAdminClient): Promise<string> {
  const status = await hub.billing.status.query();
  if (!status.enabled) throw new Error('billing is off on this hub (BILLING_CURRENCY is not set there)');
  return status.currency;
}

function amountArg(text: string | undefined, currency: string): number {
  const minor = text === undefined ? null : fromDecimal(text, currency);
  if (minor === null || minor <= 0) throw new UsageError(`give the amount in ${currency}, e.g. 12.50 (more than nothing)`);
  return minor;
}

export async function billingCommand(hub: HubAdminClient, args: string[], values: BillingValues): Promise<unknown> {
  const [command, sub, third, fourth] = args;
  const currency = await currencyOf(hub);
  const money = (m: number | null) => (m === null ? 'no price' : formatMinor(m, currency));
  switch (command) {
    case 'balance': {
      if (!sub) throw new UsageError('missing email');
      const a = await hub.billing.account.query({ account: sub, limit: 1 });
      if (values.json) return { account: a.account, currency, balanceMinor: a.balanceMinor, monthlyRateMinor: a.monthlyRateMinor, runsOutAt: a.runsOutAt, multiplierPercent: a.multiplierPercent, exempt: a.exempt };
      const lasts = a.runsOutAt ? `, runs out around ${a.runsOutAt.toISOString()}` : '';
      const terms = `${a.multiplierPercent} % of the prices${a.exempt ? ', exempt from stops and deletes at zero' : ''}`;
      return `${a.account}: ${money(a.balanceMinor)}; pays ${money(a.monthlyRateMinor)} a month now${lasts} (${terms})`;
    }
    case 'credit':
    case 'debit': {
      if (!sub) throw new UsageError('missing email');
      if (!values.note) throw new UsageError('missing --note (say why: it is kept in the ledger)');
      const minor = amountArg(third, currency);
      const done = await hub.billing.adjust.mutate({ account: sub, amountMinor: command === 'credit' ? minor : -minor, note: values.note, idempotencyKey: randomUUID() });
      return values.json ? done : `${command === 'credit' ? 'credited' : 'debited'} ${money(Math.abs(done.amountMinor))}; ${done.account} now has ${money(done.balanceMinor)}`;
    }
    case 'ledger': {
      if (!sub) throw new UsageError('missing email');
      const a = await hub.billing.account.query({ account: sub, limit: Math.min(200, Number(values.limit ?? 50) || 50) });
      if (values.json) return a.ledger;
      return a.ledger.map((e) => ({
        at: e.createdAt,
        kind: e.kind,
        amount: money(e.amountMinor),
        capsul: e.capsulName ?? e.capsulId,
        hours: e.usageFrom && e.usageUntil ? `${e.usageFrom.toISOString()} – ${e.usageUntil.toISOString()}` : null,
        note: e.note ?? e.provider,
        by: e.actor,
      }));
    }
    case 'prices': {
      if (sub === 'set') {
        if (!third) throw new UsageError('missing size id');
        const minor = fourth === '0' ? 0 : amountArg(fourth, currency);
        const set = await hub.billing.setPrice.mutate({ size: third, monthlyMinor: minor });
        return values.json ? set : `${set.size}: ${money(set.monthlyMinor)} a month from ${set.from.toISOString()} on`;
      }
      if (sub) throw new UsageError(`unknown: prices ${sub}`);
      const prices = await hub.billing.prices.query();
      if (values.json) return prices;
      return prices.sizes.map((s) => ({
        size: s.sizeId,
        name: s.name,
        monthly: money(s.monthlyMinor),
        later: s.upcoming.map((u) => `${money(u.monthlyMinor)} from ${u.from.toISOString()}`).join('; ') || null,
      }));
    }
    case 'billing-account': {
      if (!sub) throw new UsageError('missing email');
      const exempt = values.exempt === undefined ? undefined : values.exempt === 'yes' ? true : values.exempt === 'no' ? false : null;
      if (exempt === null) throw new UsageError('--exempt is yes or no');
      const multiplierPercent = values.multiplier === undefined ? undefined : Number(values.multiplier);
      if (exempt === undefined && multiplierPercent === undefined) throw new UsageError('give --multiplier <percent> and/or --exempt yes|no');
      return hub.billing.setAccount.mutate({ account: sub, multiplierPercent, exempt });
    }
  }
  throw new UsageError(`unknown command: ${command}`);
}

export const BILLING_COMMANDS = ['balance', 'credit', 'debit', 'ledger', 'prices', 'billing-account'];
