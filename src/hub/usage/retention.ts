// Retention of usage history: each step's rows go once older than its window (USAGE_RAW_HOURS,
// USAGE_FIVE_MINUTE_DAYS, USAGE_HOURLY_DAYS), so the tables stay bounded. Run after each rollup round.
import type { Env } from '~/env';
import type { Db } from '../db/client';
import { ident, USAGE_TABLES } from './tables';

export type UsageWindows = Record<0 | 300 | 3600, number>;

export function usageWindows(e: Pick<Env, 'USAGE_RAW_HOURS' | 'USAGE_FIVE_MINUTE_DAYS' | 'USAGE_HOURLY_DAYS'>): UsageWindows {
  return { 0: e.USAGE_RAW_HOURS * 3_600_000, 300: e.USAGE_FIVE_MINUTE_DAYS * 86_400_000, 3600: e.USAGE_HOURLY_DAYS * 86_400_000 };
}

/** Deletes what is older than each step's window; returns the rows deleted. */
export async function pruneUsage(db: Db, windows: UsageWindows, now = new Date()): Promise<number> {
  let deleted = 0;
  for (const [step, ms] of Object.entries(windows)) {
    const before = new Date(now.getTime() - ms);
    for (const t of USAGE_TABLES) {
      deleted += await db.$executeRaw`DELETE FROM ${ident(t.name)} WHERE "step" = ${Number(step)}::int AND "at" < ${before}`;
    }
  }
  return deleted;
}
