// What a driver measures for usage history: cumulative counters, as the hypervisor and the kernel keep them.
// Rates are made from two of these samples (rates.ts); one sample alone says nothing about an interval.

/** One running capsul's counters since its guest started (a restart sets them back to zero). */
export type CapsulCounters = {
  id: string;
  vcpus: number;
  /** CPU time its QEMU process used, in nanoseconds. */
  cpuNs: number;
  /** Memory in use now: the guest's own view when it reports one, else what QEMU holds (at most its size). */
  memoryBytes: number;
  /** Bytes the guest received and sent, over all its interfaces. */
  netInBytes: number;
  netOutBytes: number;
  /** Bytes read and written, over all its disks. */
  diskReadBytes: number;
  diskWriteBytes: number;
};

export type HostCounters = {
  /** CPU time of all cores since boot, in milliseconds: all of it, and what was not idle. */
  cpuTotalMs: number;
  cpuBusyMs: number;
  memoryUsedBytes: number;
  memoryTotalBytes: number;
  /** The filesystem of the disks directory. */
  diskUsedBytes: number;
  diskTotalBytes: number;
};

export type UsageCounters = {
  /** When the sample was taken (the point's stamp). */
  at: Date;
  /** A monotonic clock (performance.now()) at the same moment: the intervals' length, whatever the wall clock does. */
  monotonicMs: number;
  /** True when the numbers are made up (the fake driver): no VM runs behind them. */
  simulated: boolean;
  host: HostCounters;
  capsuls: CapsulCounters[];
};
