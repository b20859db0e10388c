// How usage numbers read: percent, bytes and bytes per second in binary units (KiB, MiB, GiB), one unit for
// all of an axis's ticks (picked by its largest), each legend value in its own.
export type UsageUnit = 'percent' | 'bytes' | 'bytesPerSecond';

const PREFIXES = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];

/** The power of 1024 that shows `max` as a number below 1024. */
function powerFor(max: number): number {
  let power = 0;
  while (max >= 1024 && power < PREFIXES.length - 1) {
    max /= 1024;
    power++;
  }
  return power;
}

function scaled(value: number, power: number, suffix: string): string {
  const n = value / 1024 ** power;
  const digits = n === 0 || n >= 100 || power === 0 ? 0 : n >= 10 ? 1 : 2;
  return `${n.toFixed(digits)} ${PREFIXES[power]}${suffix}`;
}

/** One value, in the unit that suits it ("—" for no point). */
export function formatUsage(value: number | null | undefined, unit: UsageUnit): string {
  if (value === null || value === undefined) return '—';
  if (unit === 'percent') return `${value.toFixed(value < 10 ? 1 : 0)} %`;
  return scaled(value, powerFor(Math.abs(value)), unit === 'bytesPerSecond' ? '/s' : '');
}

/** An axis's ticks, all in the unit of the largest. */
export function formatTicks(ticks: number[], unit: UsageUnit): string[] {
  if (unit === 'percent') return ticks.map((t) => `${Math.round(t)} %`);
  const power = powerFor(Math.max(0, ...ticks.map(Math.abs)));
  const suffix = unit === 'bytesPerSecond' ? '/s' : '';
  return ticks.map((t) => {
    const n = t / 1024 ** power;
    return `${Number(n.toFixed(2))} ${PREFIXES[power]}${suffix}`;
  });
}

/** Tick steps for bytes: powers of two within each unit (256 MiB, 512 MiB, 1 GiB…), not decimal ones. */
export const BINARY_STEPS = PREFIXES.flatMap((_, power) => [1, 2, 4, 8, 16, 32, 64, 128, 256, 512].map((n) => n * 1024 ** power));
