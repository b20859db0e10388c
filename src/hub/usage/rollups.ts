// Downsampling: raw points into 5-minute averages, and those into hourly ones, for both history tables. Run
// by the leading hub (housekeeping.ts). Each step keeps a watermark (UsageRollup.rolledTo): buckets before it
// are made. A round remakes the buckets from a little before the watermark (points may arrive late, up to
// USAGE_MAX_AGE_MS) up to the last complete bucket, so it is idempotent and a missed round loses nothing.
import { Prisma } from '~/generated/prisma/client';
import { USAGE_MAX_AGE_MS } from '~/contract/usage';
import type { Db } from '../db/client';
import { bucketOf, ident, USAGE_TABLES, weightedAverages, type UsageTable } from './tables';

/** Each rollup step and the step it averages. */
export const ROLLUPS = [
  { step: 300, source: 0, lookbackMs: USAGE_MAX_AGE_MS + 300_000 },
  { step: 3600, source: 300, lookbackMs: 3_600_000 },
] as const;

const floorTo = (at: Date, stepSeconds: number) => new Date(Math.floor(at.getTime() / (stepSeconds * 1000)) * stepSeconds * 1000);

/** Rolls every step up to `now`; returns the buckets written per step. */
export async function rollUp(db: Db, now = new Date()): Promise<Record<number, number>> {
  const written: Record<number, number> = {};
  for (const r of ROLLUPS) {
    const marks = await db.usageRollup.findMany({ where: { step: { in: [r.step, r.source] } } });
    const mark = marks.find((m) => m.step === r.step)?.rolledTo;
    // Only complete buckets: before the current one, and for hourly, before what the 5-minute step has made.
    let to = floorTo(now, r.step);
    if (r.source > 0) {
      const source = marks.find((m) => m.step === r.source)?.rolledTo;
      if (!source) continue;
      to = floorTo(source, r.step);
    }
    const from = mark ? floorTo(new Date(mark.getTime() - r.lookbackMs), r.step) : new Date(0);
    if (from >= to) continue;
    const counts = await db.$transaction([
      ...USAGE_TABLES.map((t) => rollUpTable(db, t, r.step, r.source, from, to)),
      db.usageRollup.upsert({ where: { step: r.step }, create: { step: r.step, rolledTo: to }, update: { rolledTo: to } }),
    ]);
    written[r.step] = (counts[0] as number) + (counts[1] as number);
  }
  return written;
}

function rollUpTable(db: Db, t: UsageTable, step: number, source: number, from: Date, to: Date) {
  const key = ident(t.key);
  const columns = Prisma.join(t.columns.map(ident));
  const updates = Prisma.join(['seconds', ...t.columns].map((c) => Prisma.sql`${ident(c)} = EXCLUDED.${ident(c)}`));
  return db.$executeRaw`
    INSERT INTO ${ident(t.name)} (${key}, "step", "at", "seconds", ${columns})
    SELECT ${key}, ${step}::int, ${bucketOf(step)} AS bucket, sum("seconds"), ${weightedAverages(t.columns)}
      FROM ${ident(t.name)}
     WHERE "step" = ${source}::int AND "at" >= ${from} AND "at" < ${to}
     GROUP BY ${key}, bucket
    ON CONFLICT (${key}, "step", "at") DO UPDATE SET ${updates}`;
}
