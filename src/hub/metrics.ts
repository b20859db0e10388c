// The hub's Prometheus metrics. Counters and histograms are fed where the work happens; gauges are read
// from the database at each scrape.
import { counter, gauge, histogram } from '~/lib/metrics';
import type { Db } from './db/client';
import { isOnline, onlineSince } from './operations/hosts';

export const operationsTotal = counter('capsul_operations_total', 'Hub-to-spoke operations, by kind and outcome');
/** An operation reached its end: completed, failed or conflict. */
export function countOperation(kind: string, outcome: 'completed' | 'failed' | 'conflict' | 'assigned'): void {
  operationsTotal.inc({ kind, outcome });
}

export const fanOutSeconds = histogram('capsul_fanout_seconds', 'Time from the call into the operations module to the merged answer of a fan-out, by kind');
export const hostCallSeconds = histogram('capsul_host_call_seconds', 'One call to one spoke, by procedure and result');
export const claimSeconds = histogram('capsul_claim_seconds', 'spoke.claimOperation in the hub (the database decision), by outcome');

export function collectFromDatabase(db: Db): void {
  const hosts = gauge('capsul_hosts', 'Hosts (not removed), by whether they are online');
  hosts.collect = async () => {
    const all = await db.host.findMany({ where: { removedAt: null }, select: { lastHealthCheck: true } });
    const since = onlineSince();
    const online = all.filter((h) => isOnline(h, since)).length;
    hosts.set({ online: 'true' }, online);
    hosts.set({ online: 'false' }, all.length - online);
  };
  const capsuls = gauge('capsul_capsuls', 'Capsuls not deleted, by state');
  capsuls.collect = async () => {
    const rows = await db.capsul.groupBy({ by: ['state'], where: { deletedAt: null }, _count: { _all: true } });
    capsuls.reset();
    for (const r of rows) capsuls.set({ state: r.state }, r._count._all);
  };
}
