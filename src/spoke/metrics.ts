// The spoke's Prometheus metrics: every virsh and qemu-img call, what the host can still give, and usage.
import type { UsagePoint } from '~/contract/usage';
import { counter, gauge, histogram } from '~/lib/metrics';
import type { Spoke } from './spoke';
import type { UsageCounters } from './usage/counters';

export const commandSeconds = histogram('capsul_spoke_command_seconds', 'virsh and qemu-img calls, by binary and subcommand', ['binary', 'command']);
export const outboxUnreadable = counter('capsul_spoke_outbox_unreadable_total', 'Completion files in the outbox that could not be parsed, moved to outbox/unreadable');
export const commandFailures = counter('capsul_spoke_command_failures_total', 'virsh and qemu-img calls that failed, by binary and subcommand', ['binary', 'command']);

export function collectCapacity(spoke: Spoke): void {
  gauge('capsul_spoke_free', 'What this host can still give capsuls (after reservations), by resource', ['resource'], async (g) => {
    const c = await spoke.capacity({ memoryMb: 0, diskGb: 0 }).catch(() => undefined);
    if (!c) return;
    g.set({ resource: 'memory_mb' }, c.freeMemoryMb);
    g.set({ resource: 'disk_gb' }, c.freeDiskGb);
  });
}

/**
 * Each running capsul's and the host's usage, from the sampler's newest sample (at most a period old), set
 * again at each scrape: a capsul no longer running drops out. The totals are the hypervisor's own counters
 * (they start again from zero when a guest restarts, which Prometheus' rate() reads as a reset).
 */
export function collectUsage(latest: () => { counters: UsageCounters; point: UsagePoint | null } | undefined): void {
  const capsuls = () => latest()?.counters.capsuls ?? [];
  counter('capsul_spoke_capsul_cpu_seconds_total', 'CPU time each running capsul used since its guest started', ['capsul'], (c) => {
    c.reset();
    for (const k of capsuls()) c.inc({ capsul: k.id }, k.cpuNs / 1e9);
  });
  gauge('capsul_spoke_capsul_memory_bytes', 'Memory each running capsul uses (its own view when it reports one, else what QEMU holds, at most its size)', ['capsul'], (g) => {
    g.reset();
    for (const k of capsuls()) g.set({ capsul: k.id }, k.memoryBytes);
  });
  counter('capsul_spoke_capsul_network_bytes_total', 'Bytes each running capsul received (in) and sent (out) since its guest started', ['capsul', 'direction'], (c) => {
    c.reset();
    for (const k of capsuls()) {
      c.inc({ capsul: k.id, direction: 'in' }, k.netInBytes);
      c.inc({ capsul: k.id, direction: 'out' }, k.netOutBytes);
    }
  });
  counter('capsul_spoke_capsul_disk_bytes_total', 'Bytes each running capsul read and wrote on its disks since its guest started', ['capsul', 'op'], (c) => {
    c.reset();
    for (const k of capsuls()) {
      c.inc({ capsul: k.id, op: 'read' }, k.diskReadBytes);
      c.inc({ capsul: k.id, op: 'write' }, k.diskWriteBytes);
    }
  });
  // Without labels prom-client always shows it: 0 until the first point (one period after the start).
  gauge('capsul_spoke_host_cpu_percent', 'CPU of all the host\'s cores in use over the last sampling period, in percent', [], (g) => {
    g.reset();
    const point = latest()?.point;
    if (point) g.set(point.host.cpuPercent);
  });
  gauge('capsul_spoke_host_memory_bytes', 'The host\'s memory: used (not available) and total', ['kind'], (g) => {
    g.reset();
    const host = latest()?.counters.host;
    if (!host) return;
    g.set({ kind: 'used' }, host.memoryUsedBytes);
    g.set({ kind: 'total' }, host.memoryTotalBytes);
  });
  gauge('capsul_spoke_host_disk_bytes', 'The filesystem of the capsuls\' disks: used and total', ['kind'], (g) => {
    g.reset();
    const host = latest()?.counters.host;
    if (!host) return;
    g.set({ kind: 'used' }, host.diskUsedBytes);
    g.set({ kind: 'total' }, host.diskTotalBytes);
  });
}
