// What an account pays now and how long its balance lasts: the sum of its live capsuls' prices in force now,
// times its multiplier. Capsuls being created count (they are charged from their assignment once built);
// failed and deleted ones do not.
import type { Db } from '../db/client';
import { billingSettings } from './account-settings';
import { requireBilling } from './config';
import { balance } from './ledger';
import { HOUR_MS, UNITS_PER_MINOR } from './metering';
import { priceHistory } from './prices';

export type BillingSummary = {
  currency: string;
  balanceMinor: number;
  multiplierPercent: number;
  exempt: boolean;
  /** Minor units a month at the rate now (rounded to the nearest). */
  monthlyRateMinor: number;
  /** The rate now in metering units an hour (monthly minor × percent; 73 000 make one minor unit). */
  unitsPerHour: bigint;
  /** When the balance reaches zero at the rate now; null with nothing to pay or nothing left. */
  runsOutAt: Date | null;
  capsuls: { id: string; name: string; sizeId: string | null; monthlyMinor: number | null }[];
};

export async function billingSummary(db: Db, accountId: string, now = new Date()): Promise<BillingSummary> {
  const { currency } = requireBilling();
  const [settings, balanceMinor, book, live] = await Promise.all([
    billingSettings(db, accountId),
    balance(db, accountId),
    priceHistory(db),
    db.capsul.findMany({ where: { ownerId: accountId, deletedAt: null, state: { not: 'failed' } }, select: { id: true, name: true, sizeId: true }, orderBy: { createdAt: 'asc' } }),
  ]);
  const percent = BigInt(settings.multiplierPercent);
  const capsuls = live.map((c) => ({ ...c, monthlyMinor: c.sizeId ? book.at(c.sizeId, now) : null }));
  const unitsPerHour = capsuls.reduce((sum, c) => sum + BigInt(c.monthlyMinor ?? 0) * percent, 0n);
  const runsOutAt = unitsPerHour > 0n && balanceMinor > 0 ? new Date(now.getTime() + Math.floor((balanceMinor * Number(UNITS_PER_MINOR) * HOUR_MS) / Number(unitsPerHour))) : null;
  return {
    currency,
    balanceMinor,
    multiplierPercent: settings.multiplierPercent,
    exempt: settings.exempt,
    monthlyRateMinor: Math.round(Number(unitsPerHour) / 100),
    unitsPerHour,
    runsOutAt,
    capsuls,
  };
}
