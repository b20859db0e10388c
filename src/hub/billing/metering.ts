// Metering: each capsul is charged per hour, or part of one, from the moment its create was assigned to a
// host (the winning claim, HostOperation.assignedAt) until it is deleted, at the price in force when each
// hour began for the size it had when that hour began (a completed resize changes the size from the next
// hour on), times the owner's multiplier. Hours are the capsul's own: hour i begins at assignedAt + i h, and
// is charged once begun. Only capsuls whose create completed are charged (a create that failed or ended in
// a conflict never is; one still building is charged from its assignment once it completes), and only
// capsuls made with a catalog size (an admin's hand-picked vCPUs have no price).
//
// Exactness with monthly prices: per capsul the metered total is an integer in units of 1/73 000 of a minor
// unit (1/730 of a month × 1/100 of the multiplier): each hour adds monthlyMinor × multiplierPercent. An
// entry charges the whole minor units that total passed: floor(after / 73 000) − floor(before / 73 000). So
// nothing is rounded twice and a month of hours at one price costs exactly that price.
//
// The ledger is the meter's own state: each usage entry carries the hours it covers and the total after it,
// and the next run starts where the newest entry ended. Its idempotency key is the capsul and the first hour
// it covers, so a run killed half way and run again, or two hubs metering at once, make each entry once: any
// two runs covering an hour start from the same newest entry, hence the same first hour and key.
import type { Db } from '../db/client';
import { billingChargedMinor } from '../metrics';
import { requireBilling } from './config';
import { multipliers } from './account-settings';
import { appendEntry, type NewEntry } from './ledger';
import { HOURS_PER_MONTH, priceHistory } from './prices';

export const HOUR_MS = 3_600_000;
/** Units of the metered total per minor unit: 730 hours a month × 100 percent. */
export const UNITS_PER_MINOR = BigInt(HOURS_PER_MONTH * 100);

type Meterable = {
  id: string;
  ownerId: string;
  sizeId: string;
  deletedAt: Date | null;
  start: Date;
  meteredUntil: Date | null;
  units: bigint | null;
};

/** Capsuls with hours perhaps not yet charged: created, of a size with a price, not charged up to their deletion. */
async function meterable(db: Db): Promise<Meterable[]> {
  return db.$queryRaw<Meterable[]>`
    SELECT c.id, c."ownerId", c."sizeId", c."deletedAt", ho."assignedAt" AS start,
           last."usageUntil" AS "meteredUntil", last."usageUnits" AS units
      FROM "Capsul" c
      JOIN "Operation" o ON o."capsulId" = c.id AND o.kind = 'create' AND o.state = 'completed'
      JOIN "HostOperation" ho ON ho."operationId" = o.id AND ho."hostId" = o."hostId"
      LEFT JOIN LATERAL (
        SELECT e."usageUntil", e."usageUnits" FROM "LedgerEntry" e
         WHERE e."capsulId" = c.id AND e.kind = 'usage' ORDER BY e."usageUntil" DESC LIMIT 1
      ) last ON true
      LEFT JOIN LATERAL (SELECT min(p."from") AS "from" FROM "Price" p WHERE p."sizeId" = c."sizeId") priced ON true
     WHERE c."sizeId" IS NOT NULL AND ho."assignedAt" IS NOT NULL AND priced."from" IS NOT NULL
       -- Not the capsuls charged up to their deletion, nor those deleted before their size had a price.
       AND (c."deletedAt" IS NULL OR (last."usageUntil" IS NULL AND c."deletedAt" > priced."from") OR last."usageUntil" < c."deletedAt")`;
}

type Resize = { capsulId: string; completedAt: Date; fromSizeId: string | null };

/** The capsuls' completed resizes, oldest first: each says the size it left (operations/changes.ts). */
async function resizes(db: Db, capsulIds: string[]): Promise<Map<string, Resize[]>> {
  const rows = capsulIds.length
    ? await db.$queryRaw<Resize[]>`
        SELECT o."capsulId", o."completedAt", o.payload->>'fromSizeId' AS "fromSizeId" FROM "Operation" o
         WHERE o.kind = 'resize' AND o.state = 'completed' AND o."capsulId" = ANY(${capsulIds}::text[])
         ORDER BY o."completedAt"`
    : [];
  const by = new Map<string, Resize[]>();
  for (const r of rows) by.set(r.capsulId, [...(by.get(r.capsulId) ?? []), r]);
  return by;
}

/** The size a capsul had at `t`: the one the first resize after `t` left, or the one it has now. */
function sizeAt(current: string, history: Resize[] | undefined, t: number): string | null {
  const next = history?.find((r) => r.completedAt.getTime() > t);
  return next ? next.fromSizeId : current;
}

/** How many of a capsul's hours have begun by `now` (and before its deletion). */
export function hoursBegun(start: Date, now: Date, deletedAt: Date | null): number {
  const s = start.getTime();
  let n = now.getTime() < s ? 0 : Math.floor((now.getTime() - s) / HOUR_MS) + 1;
  if (deletedAt) n = Math.min(n, Math.max(0, Math.ceil((deletedAt.getTime() - s) / HOUR_MS)));
  return n;
}

/** What a run at `now` would append: one usage entry per capsul with hours begun since its newest entry. */
export async function planUsage(db: Db, now = new Date()): Promise<NewEntry[]> {
  const { currency } = requireBilling();
  const [capsuls, book] = await Promise.all([meterable(db), priceHistory(db)]);
  const [mult, resized] = await Promise.all([multipliers(db, [...new Set(capsuls.map((c) => c.ownerId))]), resizes(db, capsuls.map((c) => c.id))]);
  const plan: NewEntry[] = [];
  for (const c of capsuls) {
    const s = c.start.getTime();
    const firstPriced = book.firstFrom(c.sizeId);
    if (!firstPriced) continue;
    // Where this run begins: after the newest entry, or (first run) at the first hour that had a price:
    // hours from before billing began are not charged.
    const from = c.meteredUntil ? Math.round((c.meteredUntil.getTime() - s) / HOUR_MS) : Math.max(0, Math.ceil((firstPriced.getTime() - s) / HOUR_MS));
    const until = hoursBegun(c.start, now, c.deletedAt);
    if (until <= from) continue;
    const percent = BigInt(mult.get(c.ownerId) ?? 100);
    const before = c.units ?? 0n;
    let after = before;
    for (let i = from; i < until; i++) {
      const begins = s + i * HOUR_MS;
      const size = sizeAt(c.sizeId, resized.get(c.id), begins);
      after += BigInt((size && book.at(size, begins)) ?? 0) * percent;
    }
    const charged = after / UNITS_PER_MINOR - before / UNITS_PER_MINOR;
    const firstHour = new Date(s + from * HOUR_MS);
    plan.push({
      accountId: c.ownerId,
      kind: 'usage',
      amountMinor: charged === 0n ? 0 : -Number(charged),
      currency,
      idempotencyKey: `usage:${c.id}:${firstHour.toISOString()}`,
      actor: 'system',
      capsulId: c.id,
      usageFrom: firstHour,
      usageUntil: new Date(s + until * HOUR_MS),
      usageUnits: after,
    });
  }
  return plan;
}

export type MeterResult = { entries: number; chargedMinor: number; duplicates: number };

/** One metering run: plans and appends; an entry another run made already is counted, not added. */
export async function meter(db: Db, opts: { now?: Date; afterEntry?: (entry: NewEntry) => void } = {}): Promise<MeterResult> {
  const result: MeterResult = { entries: 0, chargedMinor: 0, duplicates: 0 };
  for (const entry of await planUsage(db, opts.now)) {
    const { created } = await appendEntry(db, entry);
    if (created) {
      result.entries++;
      result.chargedMinor -= entry.amountMinor;
      billingChargedMinor.inc(-entry.amountMinor);
    } else result.duplicates++;
    opts.afterEntry?.(entry);
  }
  return result;
}
