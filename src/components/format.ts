/** The same text on the server and in the browser (no locale, no time zone surprises in hydration). */
export function formatTime(value: Date | string | null | undefined): string {
  if (!value) return '—';
  const d = typeof value === 'string' ? new Date(value) : value;
  return `${d.toISOString().slice(0, 16).replace('T', ' ')} UTC`;
}

export function formatSize(c: { vcpus: number; memoryMb: number; diskGb: number }): string {
  const memory = c.memoryMb >= 1024 ? `${c.memoryMb / 1024} GiB` : `${c.memoryMb} MiB`;
  return `${c.vcpus} vCPU · ${memory} · ${c.diskGb} GiB`;
}

export function formatDuration(from: Date, to: Date | null | undefined): string {
  if (!to) return '—';
  const ms = to.getTime() - from.getTime();
  return ms < 1000 ? `${ms} ms` : `${(ms / 1000).toFixed(1)} s`;
}

/** Each limit (src/hub/limits.ts) as people read it: its label, and an amount of it. */
export const LIMITS = [
  { name: 'capsuls', label: 'Capsuls', amount: (n: number) => String(n) },
  { name: 'vcpus', label: 'vCPUs', amount: (n: number) => String(n) },
  { name: 'memoryMb', label: 'Memory', amount: (n: number) => `${n} MiB` },
  { name: 'diskGb', label: 'Disk', amount: (n: number) => `${n} GiB` },
] as const;
