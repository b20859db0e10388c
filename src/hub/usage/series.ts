// What the graphs read: a capsul's or a host's (or the fleet's) history over a range, as columns in uPlot's
// shape. Each range reads the finest step its window still keeps and averages it to the range's step; a
// bucket with no point is null, so a gap (a spoke restart, a stopped capsul) shows as a gap. The last hour
// is drawn from the raw points themselves, each at its own time.
import { Prisma } from '~/generated/prisma/client';
import { CAPSUL_METRICS, HOST_METRICS, type CapsulMetric, type HostMetric, type UsageRange } from '~/contract/usage';
import type { Db } from '../db/client';
import { bucketOf, CAPSUL_USAGE, HOST_USAGE, ident, weightedAverages, type UsageTable } from './tables';

/** Each range: how far back, which step it reads, and the step it is drawn at (0: the raw points as they are). */
export const VIEWS: Record<UsageRange, { spanSeconds: number; source: number; stepSeconds: number }> = {
  hour: { spanSeconds: 3600, source: 0, stepSeconds: 0 },
  day: { spanSeconds: 86_400, source: 0, stepSeconds: 300 },
  month: { spanSeconds: 30 * 86_400, source: 300, stepSeconds: 3600 },
  year: { spanSeconds: 365 * 86_400, source: 3600, stepSeconds: 86_400 },
};
/** The fleet's and hosts' last hour is averaged per minute (hosts' raw points do not line up). */
const HOST_HOUR_STEP = 60;

type Row = { t: number; seconds: number } & Record<string, number>;
export type Columns<M extends string> = { stepSeconds: number; from: Date; to: Date; at: number[]; values: Record<M, (number | null)[]> };

export async function capsulColumns(db: Db, capsulId: string, range: UsageRange, now = new Date()): Promise<Columns<CapsulMetric>> {
  return columns(db, CAPSUL_USAGE, CAPSUL_METRICS, Prisma.sql`${ident('capsulId')} = ${capsulId}`, range, VIEWS[range].stepSeconds, now);
}

/** One host's history, or with no host the fleet's: each host's averages summed (CPU: their mean). */
export async function hostColumns(db: Db, hostId: string | null, range: UsageRange, now = new Date()): Promise<Columns<HostMetric>> {
  const step = VIEWS[range].stepSeconds || HOST_HOUR_STEP;
  if (hostId) return columns(db, HOST_USAGE, HOST_METRICS, Prisma.sql`${ident('hostId')} = ${hostId}`, range, step, now);
  return columns(db, HOST_USAGE, HOST_METRICS, null, range, step, now);
}

async function columns<M extends string>(
  db: Db, table: UsageTable, metrics: readonly M[], where: Prisma.Sql | null, range: UsageRange, step: number, now: Date,
): Promise<Columns<M>> {
  const view = VIEWS[range];
  const from = new Date(now.getTime() - view.spanSeconds * 1000);
  const rows = await db.$queryRaw<Row[]>(query(table, where, view.source, step, from));
  const out: Columns<M> = { stepSeconds: step, from, to: now, at: [], values: Object.fromEntries(metrics.map((m) => [m, []])) as unknown as Columns<M>['values'] };
  const push = (t: number, row: Row | null) => {
    out.at.push(t);
    for (const m of metrics) out.values[m].push(row ? Number(row[m]) : null);
  };
  if (step === 0) {
    // Raw points at their own times; a point whose interval began well after the one before ended follows a gap.
    let last: Row | null = null;
    for (const row of rows) {
      if (last && Number(row.t) - Number(row.seconds) - Number(last.t) > Number(row.seconds) / 2) push((Number(last.t) + Number(row.t) - Number(row.seconds)) / 2, null);
      push(Number(row.t), row);
      last = row;
    }
    return out;
  }
  const byBucket = new Map(rows.map((r) => [Number(r.t), r]));
  for (let t = Math.ceil(from.getTime() / 1000 / step) * step; t * 1000 < now.getTime(); t += step) push(t, byBucket.get(t) ?? null);
  return out;
}

function query(table: UsageTable, where: Prisma.Sql | null, source: number, step: number, from: Date): Prisma.Sql {
  const name = ident(table.name);
  const filter = Prisma.sql`"step" = ${source}::int AND "at" >= ${from}${where ? Prisma.sql` AND ${where}` : Prisma.empty}`;
  if (step === 0) {
    const cols = Prisma.join(table.columns.map(ident));
    return Prisma.sql`SELECT extract(epoch FROM "at")::float8 AS t, "seconds", ${cols} FROM ${name} WHERE ${filter} ORDER BY "at"`;
  }
  const t = Prisma.sql`extract(epoch FROM ${bucketOf(step)})::float8`;
  if (where) return Prisma.sql`SELECT ${t} AS t, sum("seconds") AS seconds, ${weightedAverages(table.columns)} FROM ${name} WHERE ${filter} GROUP BY 1 ORDER BY 1`;
  // The fleet: each key's average per bucket first, then summed over keys (CPU percent averaged instead).
  const outer = Prisma.join(table.columns.map((c) => (c === 'cpuPercent' ? Prisma.sql`avg(${ident(c)}) AS ${ident(c)}` : Prisma.sql`sum(${ident(c)}) AS ${ident(c)}`)));
  return Prisma.sql`
    SELECT t, sum(seconds) AS seconds, ${outer} FROM (
      SELECT ${ident(table.key)}, ${t} AS t, sum("seconds") AS seconds, ${weightedAverages(table.columns)}
        FROM ${name} WHERE ${filter} GROUP BY 1, 2
    ) per GROUP BY t ORDER BY t`;
}
