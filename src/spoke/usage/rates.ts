// A usage point from two samples of cumulative counters: rates over the interval between them. A capsul in
// only one of them (new, or gone) or whose counters went backwards (its guest restarted) has no point for
// that interval, so a restart leaves a gap in its graph rather than a spike or a negative rate.
import { USAGE_CAPSULS_PER_POINT, type CapsulUsage, type UsagePoint } from '~/contract/usage';
import type { CapsulCounters, UsageCounters } from './counters';

/** The longest interval a point may cover (the contract's limit): a longer gap is a gap. */
const MAX_SECONDS = 3600;

const clampPercent = (value: number) => Math.min(100, Math.max(0, value));

function capsulRates(before: CapsulCounters, after: CapsulCounters, seconds: number): CapsulUsage | null {
  const deltas = {
    cpuNs: after.cpuNs - before.cpuNs,
    netIn: after.netInBytes - before.netInBytes,
    netOut: after.netOutBytes - before.netOutBytes,
    diskRead: after.diskReadBytes - before.diskReadBytes,
    diskWrite: after.diskWriteBytes - before.diskWriteBytes,
  };
  if (Object.values(deltas).some((d) => d < 0)) return null;
  const vcpus = Math.max(1, after.vcpus);
  return {
    id: after.id,
    cpuPercent: clampPercent((deltas.cpuNs / (seconds * 1e9 * vcpus)) * 100),
    memoryBytes: after.memoryBytes,
    netInBps: deltas.netIn / seconds,
    netOutBps: deltas.netOut / seconds,
    diskReadBps: deltas.diskRead / seconds,
    diskWriteBps: deltas.diskWrite / seconds,
  };
}

/** The point for the interval from `before` to `after`; null when there is no earlier sample or no interval. */
export function usagePoint(before: UsageCounters | undefined, after: UsageCounters): UsagePoint | null {
  if (!before) return null;
  const seconds = (after.monotonicMs - before.monotonicMs) / 1000;
  if (!(seconds > 0) || seconds > MAX_SECONDS) return null;

  const earlier = new Map(before.capsuls.map((c) => [c.id, c]));
  const capsuls: CapsulUsage[] = [];
  for (const c of after.capsuls) {
    const was = earlier.get(c.id);
    const rates = was && capsulRates(was, c, seconds);
    if (rates) capsuls.push(rates);
  }

  const cpuTotal = after.host.cpuTotalMs - before.host.cpuTotalMs;
  const cpuBusy = after.host.cpuBusyMs - before.host.cpuBusyMs;
  return {
    at: after.at,
    seconds,
    host: {
      cpuPercent: cpuTotal > 0 ? clampPercent((cpuBusy / cpuTotal) * 100) : 0,
      memoryUsedBytes: after.host.memoryUsedBytes,
      memoryTotalBytes: after.host.memoryTotalBytes,
      diskUsedBytes: after.host.diskUsedBytes,
      diskTotalBytes: after.host.diskTotalBytes,
    },
    // More than one point may carry would make the hub refuse the whole batch.
    capsuls: capsuls.slice(0, USAGE_CAPSULS_PER_POINT),
  };
}
