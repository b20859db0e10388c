// The open books, for a co-op that runs in the open: the fleet's costs month by month (each item as an admin
// entered it: colocation, power, a disk) against the month's income, and the difference. Income is what came
// in through the ledger as payments, less refunds, in that calendar month (UTC); an admin's credits are not
// counted (they may be gifts or corrections, not money received). Only sums leave this file: never an
// account, an email, an entry or who entered a cost.
//
// Public only when BILLING_PUBLIC_BOOKS is on (and billing is); admins enter costs either way, so the books
// can be filled in before they are published.
import type { FleetCost } from '~/generated/prisma/client';
import { env, type Env } from '~/env';
import type { Db } from '../db/client';
import { billingConfig, requireBilling } from './config';
import { LedgerRefusal } from './ledger';

export type { FleetCost };

export const MONTH_PATTERN = /^\d{4}-(0[1-9]|1[0-2])$/;
export const MAX_LABEL = 80;
export const MAX_COST_MINOR = 1_000_000_000;
/** How many months the page shows: this one and the eleven before it. */
export const BOOK_MONTHS = 12;

/** Whether /open-books and `billing.openBooks` answer. */
export function publicBooksOn(e: Env = env()): boolean {
  return !!billingConfig(e) && e.BILLING_PUBLIC_BOOKS;
}

/** 'YYYY-MM' of a moment, in UTC. */
export function monthOf(at: Date): string {
  return at.toISOString().slice(0, 7);
}

/** The first instant of a month ('YYYY-MM'), `shift` months on (negative: back). */
function monthStart(month: string, shift = 0): Date {
  const [y, m] = month.split('-').map(Number) as [number, number];
  return new Date(Date.UTC(y, m - 1 + shift, 1));
}

/** The `count` months up to and including the one of `now`, newest first. */
export function lastMonths(now: Date, count = BOOK_MONTHS): string[] {
  const current = monthOf(now);
  return Array.from({ length: count }, (_, i) => monthOf(monthStart(current, -i)));
}

export type BookMonth = {
  month: string;
  costs: { label: string; amountMinor: number }[];
  costsMinor: number;
  incomeMinor: number;
  /** Income less costs: negative when the month cost more than came in. */
  balanceMinor: number;
};

export type OpenBooks = {
  currency: string;
  months: BookMonth[];
  totals: { costsMinor: number; incomeMinor: number; balanceMinor: number };
};

/** The last 12 months (newest first), each with its cost items, income and balance; months without either are 0. */
export async function openBooks(db: Db, opts: { now?: Date; months?: number } = {}): Promise<OpenBooks> {
  const { currency } = requireBilling();
  const months = lastMonths(opts.now ?? new Date(), opts.months ?? BOOK_MONTHS);
  const [costs, income] = await Promise.all([
    db.fleetCost.findMany({ where: { month: { in: months }, currency }, orderBy: [{ month: 'asc' }, { createdAt: 'asc' }, { id: 'asc' }], select: { month: true, label: true, amountMinor: true } }),
    // One sum per month over the (kind, createdAt) index: refunds are negative entries, so the sum of
    // payments and refunds is what stayed.
    Promise.all(
      months.map(async (month) => {
        const sum = await db.ledgerEntry.aggregate({
          where: { kind: { in: ['payment', 'refund'] }, currency, createdAt: { gte: monthStart(month), lt: monthStart(month, 1) } },
          _sum: { amountMinor: true },
        });
        return Number(sum._sum.amountMinor ?? 0);
      }),
    ),
  ]);
  const shown = months.map((month, i): BookMonth => {
    const items = costs.filter((c) => c.month === month).map((c) => ({ label: c.label, amountMinor: c.amountMinor }));
    const costsMinor = items.reduce((s, c) => s + c.amountMinor, 0);
    const incomeMinor = income[i]!;
    return { month, costs: items, costsMinor, incomeMinor, balanceMinor: incomeMinor - costsMinor };
  });
  const costsMinor = shown.reduce((s, m) => s + m.costsMinor, 0);
  const incomeMinor = shown.reduce((s, m) => s + m.incomeMinor, 0);
  return { currency, months: shown, totals: { costsMinor, incomeMinor, balanceMinor: incomeMinor - costsMinor } };
}

export type CostInput = { month: string; label: string; amountMinor: number };

/** The checks of a cost item, also for callers that skip the API's (the CLI, tests); refusals name the field. */
function checked(input: CostInput): CostInput {
  if (!MONTH_PATTERN.test(input.month)) throw new LedgerRefusal('month', 'a month is written YYYY-MM, e.g. 2026-12');
  const label = input.label.trim();
  if (!label || label.length > MAX_LABEL) throw new LedgerRefusal('label', `a label is 1 to ${MAX_LABEL} characters, e.g. "colocation"`);
  if (!Number.isSafeInteger(input.amountMinor) || input.amountMinor <= 0 || input.amountMinor > MAX_COST_MINOR) {
    throw new LedgerRefusal('amountMinor', `a cost is a whole number of minor units from 1 to ${MAX_COST_MINOR}`);
  }
  return { month: input.month, label, amountMinor: input.amountMinor };
}

export async function addFleetCost(db: Db, cost: CostInput & { actor: string }): Promise<FleetCost> {
  const { currency } = requireBilling();
  return db.fleetCost.create({ data: { ...checked(cost), currency, enteredBy: cost.actor } });
}

/** A corrected item (month, label, amount); null when there is no such item. */
export async function updateFleetCost(db: Db, id: string, cost: CostInput & { actor: string }): Promise<FleetCost | null> {
  const { currency } = requireBilling();
  const data = checked(cost);
  const { count } = await db.fleetCost.updateMany({ where: { id }, data: { ...data, currency, updatedBy: cost.actor } });
  return count ? db.fleetCost.findUnique({ where: { id } }) : null;
}

/** Removes an item; false when there was none. */
export async function deleteFleetCost(db: Db, id: string): Promise<boolean> {
  const { count } = await db.fleetCost.deleteMany({ where: { id } });
  return count > 0;
}

/** Every item of the last `months` months and any later ones, newest month first, for the admins' page. */
export async function fleetCosts(db: Db, opts: { now?: Date; months?: number } = {}): Promise<FleetCost[]> {
  const oldest = lastMonths(opts.now ?? new Date(), opts.months ?? BOOK_MONTHS).at(-1)!;
  return db.fleetCost.findMany({ where: { month: { gte: oldest } }, orderBy: [{ month: 'desc' }, { createdAt: 'asc' }, { id: 'asc' }] });
}
