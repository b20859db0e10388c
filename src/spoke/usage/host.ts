// The host's own counters, read from the kernel through Node (no process started): CPU times of every core,
// memory (on Linux os.freemem() is MemAvailable, so page cache counts as free) and the disks' filesystem.
import { statfs } from 'node:fs/promises';
import os from 'node:os';
import type { HostCounters } from './counters';

export async function hostCounters(disksDir: string): Promise<HostCounters> {
  const fs = await statfs(disksDir);
  let cpuTotalMs = 0;
  let cpuIdleMs = 0;
  for (const { times } of os.cpus()) {
    cpuTotalMs += times.user + times.nice + times.sys + times.irq + times.idle;
    cpuIdleMs += times.idle;
  }
  const memoryTotalBytes = os.totalmem();
  return {
    cpuTotalMs,
    cpuBusyMs: cpuTotalMs - cpuIdleMs,
    memoryTotalBytes,
    memoryUsedBytes: memoryTotalBytes - os.freemem(),
    diskTotalBytes: fs.blocks * fs.bsize,
    // What df shows as used: blocks not free (the root reserve counts as neither used nor available).
    diskUsedBytes: (fs.blocks - fs.bfree) * fs.bsize,
  };
}
