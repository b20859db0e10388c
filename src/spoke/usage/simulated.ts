// Usage counters for the fake driver, made up but plausible, so the usage pages and metrics have something to
// show on a machine without libvirt: each running capsul's CPU wanders between 5 and 60 % of its vCPUs, its
// memory around a third to two thirds of its size, with some traffic and disk I/O; the host's CPU follows its
// capsuls. Counters grow from the moment a capsul is seen running and start again from zero when it is not
// (as a real guest's do after a restart).

import type { CapsulCounters, HostCounters, UsageCounters } from './counters';

const MiB = 1024 ** 2;
const GiB = 1024 ** 3;
/** Cores of the simulated host. */
const HOST_CORES = 8;

type Capsul = { id: string; vcpus: number; memoryMb: number; diskGb: number };
type Walk = { counters: CapsulCounters; load: number; memoryShare: number };

/** A step of a random walk, kept within [min, max]. */
function wander(value: number, step: number, min: number, max: number): number {
  return Math.min(max, Math.max(min, value + (Math.random() - 0.5) * 2 * step));
}

export class SimulatedUsage {
  private readonly walks = new Map<string, Walk>();
  private host: HostCounters | undefined;
  private lastMs = performance.now();

  sample(running: Capsul[], host: { memoryMb: number; diskGb: number }): UsageCounters {
    const monotonicMs = performance.now();
    const seconds = (monotonicMs - this.lastMs) / 1000;
    this.lastMs = monotonicMs;
    const seen = new Set(running.map((c) => c.id));
    for (const id of this.walks.keys()) if (!seen.has(id)) this.walks.delete(id);

    let busyCores = 0.05 * HOST_CORES; // the host's own work
    for (const capsul of running) {
      let walk = this.walks.get(capsul.id);
      if (!walk) {
        const zero = { id: capsul.id, vcpus: capsul.vcpus, cpuNs: 0, memoryBytes: 0, netInBytes: 0, netOutBytes: 0, diskReadBytes: 0, diskWriteBytes: 0 };
        walk = { counters: zero, load: 0.05 + Math.random() * 0.3, memoryShare: 0.35 + Math.random() * 0.2 };
        this.walks.set(capsul.id, walk);
      } else {
        walk.load = wander(walk.load, 0.08, 0.05, 0.6);
        walk.memoryShare = wander(walk.memoryShare, 0.03, 0.3, 0.7);
        const c = walk.counters;
        c.cpuNs += seconds * 1e9 * capsul.vcpus * walk.load;
        c.netInBytes += seconds * (2_000 + Math.random() * 60_000);
        c.netOutBytes += seconds * (1_000 + Math.random() * 30_000 + walk.load * 200_000);
        c.diskReadBytes += seconds * Math.random() * 100_000;
        c.diskWriteBytes += seconds * Math.random() * 50_000;
      }
      walk.counters.vcpus = capsul.vcpus;
      walk.counters.memoryBytes = Math.round(capsul.memoryMb * MiB * walk.memoryShare);
      busyCores += capsul.vcpus * walk.load;
    }

    const memoryTotalBytes = host.memoryMb * MiB;
    const diskTotalBytes = host.diskGb * GiB;
    const memoryUsedBytes = 512 * MiB + [...this.walks.values()].reduce((sum, w) => sum + w.counters.memoryBytes, 0);
    const diskUsedBytes = 2 * GiB + running.reduce((sum, c) => sum + c.diskGb * GiB * 0.3, 0);
    const before = this.host ?? { cpuTotalMs: 0, cpuBusyMs: 0 };
    this.host = {
      cpuTotalMs: before.cpuTotalMs + seconds * 1000 * HOST_CORES,
      cpuBusyMs: before.cpuBusyMs + seconds * 1000 * Math.min(HOST_CORES, busyCores),
      memoryTotalBytes,
      memoryUsedBytes: Math.min(memoryTotalBytes, memoryUsedBytes),
      diskTotalBytes,
      diskUsedBytes: Math.min(diskTotalBytes, diskUsedBytes),
    };
    return {
      at: new Date(),
      monotonicMs,
      simulated: true,
      host: { ...this.host },
      capsuls: [...this.walks.values()].map((w) => ({ ...w.counters })),
    };
  }
}
