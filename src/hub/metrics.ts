// The hub's Prometheus metrics. Counters and histograms are fed where the work happens; gauges are read
// from the database at each scrape.
import { counter, gauge, histogram } from '~/lib/metrics';
import { db } from './db/client';
import { isOnline, onlineSince } from './operations/hosts';

export const operationsTotal = counter('capsul_operations_total', 'Hub-to-spoke operations, by kind and outcome', ['kind', 'outcome']);
/** An operation reached its end: completed, failed or conflict. */
export function countOperation(kind: string, outcome: 'completed' | 'failed' | 'conflict' | 'assigned'): void {
  operationsTotal.inc({ kind, outcome });
}

export const fanOutSeconds = histogram('capsul_fanout_seconds', 'Time from the call into the operations module to the merged answer of a fan-out, by kind', ['procedure']);
export const hostCallSeconds = histogram('capsul_host_call_seconds', 'One call to one spoke, by procedure and result', ['procedure', 'result']);
export const claimSeconds = histogram('capsul_claim_seconds', 'spoke.claimOperation in the hub (the database decision), by outcome', ['outcome']);

export const billingChargedMinor = counter('capsul_billing_charged_minor_total', 'Usage charged by this hub\'s metering, in minor units of BILLING_CURRENCY');
export const billingSteps = counter('capsul_billing_steps_total', 'Steps taken at zero by this hub (low, zero, stopped, deleted, restored)', ['step']);

/** The gauges read from the database; registered when the hub starts. */
export function collectFromDatabase(): void {
  gauge('capsul_hosts', 'Hosts (not removed), by whether they are online', ['online'], async (g) => {
    const all = await db().host.findMany({ where: { removedAt: null }, select: { lastHealthCheck: true } });
    const since = onlineSince();
    const online = all.filter((h) => isOnline(h, since)).length;
    g.set({ online: 'true' }, online);
    g.set({ online: 'false' }, all.length - online);
  });
  gauge('capsul_capsuls', 'Capsuls not deleted, by state', ['state'], async (g) => {
    const rows = await db().capsul.groupBy({ by: ['state'], where: { deletedAt: null }, _count: { _all: true } });
    g.reset();
    for (const r of rows) g.set({ state: r.state }, r._count._all);
  });
}
