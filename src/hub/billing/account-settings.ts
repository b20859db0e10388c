// What an admin sets for one account's billing: a price multiplier (sliding scale, member rates; integer
// percent, 100 by default) and an exemption from what happens at zero. No row means the defaults.
import type { Db } from '../db/client';
import { LedgerRefusal } from './ledger';

export const DEFAULT_MULTIPLIER = 100;
export const MAX_MULTIPLIER = 1000;

export type BillingSettings = { multiplierPercent: number; exempt: boolean };

export async function billingSettings(db: Db, accountId: string): Promise<BillingSettings> {
  const row = await db.billingAccount.findUnique({ where: { accountId }, select: { multiplierPercent: true, exempt: true } });
  return row ?? { multiplierPercent: DEFAULT_MULTIPLIER, exempt: false };
}

/** Multipliers of several accounts (the default for those without a row). */
export async function multipliers(db: Db, accountIds: string[]): Promise<Map<string, number>> {
  const rows = await db.billingAccount.findMany({ where: { accountId: { in: accountIds } }, select: { accountId: true, multiplierPercent: true } });
  const out = new Map(accountIds.map((id) => [id, DEFAULT_MULTIPLIER]));
  for (const r of rows) out.set(r.accountId, r.multiplierPercent);
  return out;
}

/** Sets what is given (left out stays as it is). */
export async function setBillingSettings(db: Db, change: { accountId: string; multiplierPercent?: number; exempt?: boolean; actor: string }): Promise<BillingSettings> {
  const m = change.multiplierPercent;
  if (m !== undefined && (!Number.isInteger(m) || m < 0 || m > MAX_MULTIPLIER)) {
    throw new LedgerRefusal('multiplierPercent', `a multiplier is a whole percentage from 0 to ${MAX_MULTIPLIER}`);
  }
  const data = { ...(m !== undefined ? { multiplierPercent: m } : {}), ...(change.exempt !== undefined ? { exempt: change.exempt } : {}), updatedBy: change.actor };
  const row = await db.billingAccount.upsert({ where: { accountId: change.accountId }, create: { accountId: change.accountId, ...data }, update: data });
  return { multiplierPercent: row.multiplierPercent, exempt: row.exempt };
}
