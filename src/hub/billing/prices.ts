// Prices per catalog size, in minor units of BILLING_CURRENCY per month (730 hours). Each change is a new
// row from a moment on, never an edit: the price in force for an hour is the newest row whose `from` is at
// or before that hour's start, so an hour already begun keeps the price it began with, and a change can only
// take effect now or later, never backwards.
import type { Price } from '~/generated/prisma/client';
import type { Db } from '../db/client';
import { requireBilling } from './config';
import { LedgerRefusal } from './ledger';

export const HOURS_PER_MONTH = 730;
export const MAX_MONTHLY_MINOR = 100_000_000;

/** Every price row, oldest first per size: small (a few rows per size), read once per metering run. */
export async function priceHistory(db: Db): Promise<PriceBook> {
  return new PriceBook(await db.price.findMany({ orderBy: [{ sizeId: 'asc' }, { from: 'asc' }, { createdAt: 'asc' }] }));
}

export class PriceBook {
  private readonly bySize = new Map<string, Price[]>();

  constructor(rows: Price[]) {
    for (const r of rows) {
      const list = this.bySize.get(r.sizeId) ?? [];
      list.push(r);
      this.bySize.set(r.sizeId, list);
    }
    for (const list of this.bySize.values()) list.sort((a, b) => a.from.getTime() - b.from.getTime() || a.createdAt.getTime() - b.createdAt.getTime());
  }

  /** The monthly price in force at `at` for a size, or null before the size had any. */
  at(sizeId: string, at: Date | number): number | null {
    const t = typeof at === 'number' ? at : at.getTime();
    const list = this.bySize.get(sizeId);
    let found: number | null = null;
    for (const p of list ?? []) {
      if (p.from.getTime() > t) break;
      found = p.monthlyMinor;
    }
    return found;
  }

  /** When the size first had a price, or null. */
  firstFrom(sizeId: string): Date | null {
    return this.bySize.get(sizeId)?.[0]?.from ?? null;
  }

  rows(sizeId: string): Price[] {
    return this.bySize.get(sizeId) ?? [];
  }
}

/** A new price for a size from `from` (now by default) on; refused for a moment already past. */
export async function setPrice(db: Db, change: { sizeId: string; monthlyMinor: number; actor: string; from?: Date; now?: Date }): Promise<Price> {
  const { currency } = requireBilling();
  const now = change.now ?? new Date();
  const from = change.from ?? now;
  if (!Number.isSafeInteger(change.monthlyMinor) || change.monthlyMinor < 0 || change.monthlyMinor > MAX_MONTHLY_MINOR) {
    throw new LedgerRefusal('monthlyMinor', `a price is a whole number of minor units from 0 to ${MAX_MONTHLY_MINOR} a month`);
  }
  // A second of slack for the clock between the caller and here; anything older would rewrite billed hours.
  if (from.getTime() < now.getTime() - 1000) throw new LedgerRefusal('from', 'a price change applies from now on, never backwards');
  const size = await db.vmSize.findUnique({ where: { id: change.sizeId }, select: { id: true } });
  if (!size) throw new LedgerRefusal('size', `there is no size "${change.sizeId}"`);
  return db.price.create({ data: { sizeId: change.sizeId, monthlyMinor: change.monthlyMinor, currency, from, setBy: change.actor } });
}

/** The price list as people read it: each size with its price now and any change already set for later. */
export async function currentPrices(db: Db, now = new Date()) {
  const [sizes, book] = await Promise.all([db.vmSize.findMany({ orderBy: [{ sortOrder: 'asc' }, { id: 'asc' }] }), priceHistory(db)]);
  return sizes.map((s) => ({
    sizeId: s.id,
    name: s.name,
    monthlyMinor: book.at(s.id, now),
    upcoming: book.rows(s.id).filter((p) => p.from > now).map((p) => ({ monthlyMinor: p.monthlyMinor, from: p.from })),
  }));
}
