// The spoke's Prometheus metrics: every virsh and qemu-img call, and what the host can still give.
import { counter, gauge, histogram } from '~/lib/metrics';
import type { Spoke } from './spoke';

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
