// Medians, percentiles and ratios for the benchmarks. Every figure is compared with a floor measured in the
// same run on the same machine; absolute times on these machines mean little.
export function quantile(samples: number[], q: number): number {
  if (samples.length === 0) return Number.NaN;
  const sorted = [...samples].sort((a, b) => a - b);
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (pos - lo);
}

export const median = (samples: number[]) => quantile(samples, 0.5);
export const p99 = (samples: number[]) => quantile(samples, 0.99);

export type Figure = {
  name: string;
  floorName: string;
  unit: string;
  samples: number[];
  floor: number[];
  target?: { median?: number; p99?: number };
};

export function row(f: Figure): string {
  const r = (a: number, b: number) => (b > 0 ? (a / b).toFixed(2) : 'n/a');
  const fmt = (v: number) => (f.unit === 'ms' ? v.toFixed(1) : v.toFixed(0));
  const target = f.target ? ` (target ≤ ${[f.target.median && `${f.target.median}× median`, f.target.p99 && `${f.target.p99}× p99`].filter(Boolean).join(', ')})` : '';
  return `| ${f.name} | ${f.floorName} | ${fmt(median(f.samples))} / ${fmt(median(f.floor))} ${f.unit} | ${fmt(p99(f.samples))} / ${fmt(p99(f.floor))} ${f.unit} | ${r(median(f.samples), median(f.floor))}× / ${r(p99(f.samples), p99(f.floor))}×${target} | ${f.samples.length} |`;
}

export const TABLE_HEAD = '| figure | floor | median (figure / floor) | p99 (figure / floor) | ratio median / p99 | runs |\n| --- | --- | --- | --- | --- | --- |';
