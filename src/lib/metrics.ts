// Prometheus metrics through prom-client: one registry per process, which also carries prom-client's default
// metrics (process CPU and memory, event-loop lag, GC, handles). Each metric is made once per process under
// its name (the hub's code is loaded twice in one process, see process-singleton.ts).
import client from 'prom-client';
import { processSingleton } from './process-singleton';

export const registry = processSingleton('metricsRegistry', () => {
  const r = new client.Registry();
  client.collectDefaultMetrics({ register: r });
  return r;
});

const SECONDS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

/** A counter; `collect` (when given) sets its values at each scrape, from totals kept elsewhere (a hypervisor's). */
export function counter<L extends string>(name: string, help: string, labelNames: readonly L[] = [], collect?: (c: client.Counter<L>) => Promise<void> | void) {
  return processSingleton(
    `metric:${name}`,
    () => new client.Counter<L>({ name, help, labelNames, registers: [registry], ...(collect ? { collect() { return collect(this); } } : {}) }),
  );
}

/** A gauge; `collect` (when given) refreshes its values at each scrape, e.g. from the database. */
export function gauge<L extends string>(name: string, help: string, labelNames: readonly L[] = [], collect?: (g: client.Gauge<L>) => Promise<void> | void) {
  return processSingleton(
    `metric:${name}`,
    () =>
      new client.Gauge<L>({
        name,
        help,
        labelNames,
        registers: [registry],
        ...(collect ? { collect() { return collect(this); } } : {}),
      }),
  );
}

export function histogram<L extends string>(name: string, help: string, labelNames: readonly L[] = [], buckets = SECONDS) {
  return processSingleton(`metric:${name}`, () => new client.Histogram<L>({ name, help, labelNames, buckets, registers: [registry] }));
}
