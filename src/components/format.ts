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

/** Bytes on a host's disk, in MiB below a GiB and in GiB from there. */
export function formatBytes(bytes: number): string {
  if (bytes === 0) return '0 MiB';
  const mib = bytes / 2 ** 20;
  if (mib < 1024) return `${mib < 10 ? mib.toFixed(1) : Math.round(mib)} MiB`;
  return `${(mib / 1024).toFixed(1)} GiB`;
}

/** How long ago, from a clock the caller reads ("12 s ago", "3 min ago"). */
export function formatAgo(from: Date, now: number): string {
  const s = Math.max(0, Math.round((now - from.getTime()) / 1000));
  return s < 60 ? `${s} s ago` : s < 3600 ? `${Math.floor(s / 60)} min ago` : `${Math.floor(s / 3600)} h ago`;
}
