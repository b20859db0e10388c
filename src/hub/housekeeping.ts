// The hub's periodic work, run by the leading hub only (leader.ts): heartbeats, the reaper, reconciliation,
// retention, usage rollups, and with billing on the metering and then the steps at zero.
import { env } from '~/env';
import { every } from '~/lib/every';
import type { Logger } from '~/lib/log';
import { enforceAtZero } from './billing/at-zero';
import { billingConfig } from './billing/config';
import { meter } from './billing/metering';
import type { Db } from './db/client';
import { startHeartbeats } from './heartbeat';
import { reapStuckOperations } from './operations/reaper';
import { reconcile } from './operations/reconcile';
import { pruneOldRows } from './operations/retention';
import { pruneUsage, usageWindows } from './usage/retention';
import { rollUp } from './usage/rollups';

const HOUR = 3_600_000;

export function startHousekeeping(db: Db, log: Logger): () => void {
  const e = env();
  const heartbeats = startHeartbeats(db, { periodMs: e.HEARTBEAT_PERIOD_MS, deadlineMs: e.SPOKE_CALL_TIMEOUT_MS, log });
  const reaper = every(e.REAPER_PERIOD_MS, e.REAPER_PERIOD_MS, () => reapStuckOperations(db, log), log, 'reaper round');
  const reconciliation = every(e.RECONCILE_PERIOD_MS, Math.min(e.RECONCILE_PERIOD_MS, 60_000), () => reconcile(db, 'system'), log, 'reconciliation');
  const windows = { readsMs: e.READ_RETENTION_HOURS * HOUR, reconciliationsMs: e.RECONCILIATION_RETENTION_HOURS * HOUR };
  const retention = every(e.RETENTION_PERIOD_MS, Math.min(e.RETENTION_PERIOD_MS, 60_000), async () => {
    const pruned = await pruneOldRows(db, windows);
    if (Object.values(pruned).some((n) => n > 0)) log.info('retention: old rows deleted', pruned);
  }, log, 'retention');
  const usage = usageWindows(e);
  const rollups = every(e.USAGE_ROLLUP_PERIOD_MS, Math.min(e.USAGE_ROLLUP_PERIOD_MS, 60_000), async () => {
    await rollUp(db);
    await pruneUsage(db, usage);
  }, log, 'usage rollups');
  const billing = billingConfig(e);
  const metering = billing
    ? every(billing.meterPeriodMs, Math.min(billing.meterPeriodMs, 60_000), async () => {
        const metered = await meter(db);
        if (metered.entries > 0) log.info('billing: hours charged', metered);
        await enforceAtZero(db, { log, config: billing });
      }, log, 'metering')
    : () => {};
  return () => {
    metering();
    heartbeats.stop();
    reaper();
    reconciliation();
    retention();
    rollups();
  };
}
