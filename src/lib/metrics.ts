// A small Prometheus registry (text exposition format 0.0.4): counters, gauges and histograms with labels.
// One per process, on globalThis (the hub's code is loaded twice in one process, see ARCHITECTURE.md).
type Labels = Record<string, string>;

const key = (labels: Labels) => JSON.stringify(Object.entries(labels).sort(([a], [b]) => (a < b ? -1 : 1)));
const fmt = (labels: Labels, extra: Labels = {}) => {
  const all = { ...labels, ...extra };
  const parts = Object.entries(all).map(([k, v]) => `${k}="${v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')}"`);
  return parts.length ? `{${parts.join(',')}}` : '';
};

abstract class Metric {
  constructor(
    readonly name: string,
    readonly help: string,
    readonly type: 'counter' | 'gauge' | 'histogram',
  ) {}
  abstract lines(): string[];
}

export class Counter extends Metric {
  private readonly values = new Map<string, { labels: Labels; value: number }>();
  constructor(name: string, help: string) {
    super(name, help, 'counter');
  }
  inc(labels: Labels = {}, by = 1): void {
    const k = key(labels);
    const entry = this.values.get(k) ?? { labels, value: 0 };
    entry.value += by;
    this.values.set(k, entry);
  }
  lines(): string[] {
    return [...this.values.values()].map((e) => `${this.name}${fmt(e.labels)} ${e.value}`);
  }
}

export class Gauge extends Metric {
  private readonly values = new Map<string, { labels: Labels; value: number }>();
  /** Called at each scrape to refresh the values (for gauges read from elsewhere, e.g. the database). */
  collect?: () => Promise<void> | void;
  constructor(name: string, help: string) {
    super(name, help, 'gauge');
  }
  set(labels: Labels, value: number): void {
    this.values.set(key(labels), { labels, value });
  }
  reset(): void {
    this.values.clear();
  }
  lines(): string[] {
    return [...this.values.values()].map((e) => `${this.name}${fmt(e.labels)} ${e.value}`);
  }
}

export class Histogram extends Metric {
  private readonly series = new Map<string, { labels: Labels; counts: number[]; sum: number; count: number }>();
  constructor(
    name: string,
    help: string,
    readonly buckets: number[] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
  ) {
    super(name, help, 'histogram');
  }
  observe(labels: Labels, seconds: number): void {
    const k = key(labels);
    const s = this.series.get(k) ?? { labels, counts: this.buckets.map(() => 0), sum: 0, count: 0 };
    this.buckets.forEach((b, i) => {
      if (seconds <= b) s.counts[i]!++;
    });
    s.sum += seconds;
    s.count++;
    this.series.set(k, s);
  }
  lines(): string[] {
    return [...this.series.values()].flatMap((s) => [
      ...this.buckets.map((b, i) => `${this.name}_bucket${fmt(s.labels, { le: String(b) })} ${s.counts[i]}`),
      `${this.name}_bucket${fmt(s.labels, { le: '+Inf' })} ${s.count}`,
      `${this.name}_sum${fmt(s.labels)} ${s.sum}`,
      `${this.name}_count${fmt(s.labels)} ${s.count}`,
    ]);
  }
}

class Registry {
  private readonly metrics = new Map<string, Metric>();
  get<M extends Metric>(name: string, make: () => M): M {
    let m = this.metrics.get(name);
    if (!m) {
      m = make();
      this.metrics.set(name, m);
    }
    return m as M;
  }
  async render(): Promise<string> {
    const out: string[] = [];
    for (const m of this.metrics.values()) {
      if (m instanceof Gauge && m.collect) await m.collect();
      out.push(`# HELP ${m.name} ${m.help}`, `# TYPE ${m.name} ${m.type}`, ...m.lines());
    }
    return `${out.join('\n')}\n`;
  }
}

const holder = globalThis as unknown as { __capsulMetrics?: Registry };
export const registry = (holder.__capsulMetrics ??= new Registry());

export const counter = (name: string, help: string) => registry.get(name, () => new Counter(name, help));
export const gauge = (name: string, help: string) => registry.get(name, () => new Gauge(name, help));
export const histogram = (name: string, help: string, buckets?: number[]) => registry.get(name, () => new Histogram(name, help, buckets));
