// Usage history: what a spoke measures (src/spoke/usage/), what it sends the hub (`spoke.reportUsage`), and
// the series people read back (`usage.*`). A point is a rate over the interval that ends at `at`, computed on
// the spoke from two samples of cumulative counters; a sample with no earlier one (a spoke or guest restart)
// gives no point, so a restart leaves a gap, not a spike.
import { z } from 'zod';
import { capsulId } from './ids';

/** Points a spoke may send at once (it keeps unsent ones while the hub does not answer, oldest dropped). */
export const USAGE_POINTS_PER_BATCH = 60;
/** Capsuls one host may report in one point. */
export const USAGE_CAPSULS_PER_POINT = 2000;
/** How far ahead of the hub's clock a point may be stamped (clock skew); a point further ahead refuses its batch. */
export const USAGE_FUTURE_SKEW_MS = 60_000;
/** How old a point may be and still be stored (the rollups recompute this far back); older ones are left out. */
export const USAGE_MAX_AGE_MS = 15 * 60_000;

const rate = z.number().finite().min(0).max(1e12);

/** One capsul over one interval: CPU as a share of its vCPUs, memory in use, and bytes per second. */
export const capsulUsage = z.object({
  id: capsulId,
  /** 0–100: CPU time used over the interval, as a percent of what its vCPUs could use. */
  cpuPercent: z.number().finite().min(0).max(100),
  memoryBytes: rate,
  netInBps: rate,
  netOutBps: rate,
  diskReadBps: rate,
  diskWriteBps: rate,
});
export type CapsulUsage = z.infer<typeof capsulUsage>;

/** The host itself over one interval: CPU share of all its cores, memory and disk in use and in total. */
export const hostUsage = z.object({
  cpuPercent: z.number().finite().min(0).max(100),
  memoryUsedBytes: rate,
  memoryTotalBytes: rate,
  diskUsedBytes: z.number().finite().min(0).max(1e18),
  diskTotalBytes: z.number().finite().min(0).max(1e18),
});
export type HostUsage = z.infer<typeof hostUsage>;

export const usagePoint = z.object({
  at: z.date(),
  /** The interval the rates cover, ending at `at`. */
  seconds: z.number().finite().positive().max(3600),
  host: hostUsage,
  capsuls: z.array(capsulUsage).max(USAGE_CAPSULS_PER_POINT),
});
export type UsagePoint = z.infer<typeof usagePoint>;

export const reportUsageInput = z.object({ points: z.array(usagePoint).min(1).max(USAGE_POINTS_PER_BATCH) });
export type ReportUsageInput = z.infer<typeof reportUsageInput>;
export const reportUsageOutput = z.object({ stored: z.number().int() });

/** The ranges a graph shows, each read at one resolution and drawn at one step (src/hub/usage/series.ts). */
export const usageRange = z.enum(['hour', 'day', 'month', 'year']);
export type UsageRange = z.infer<typeof usageRange>;

export const capsulSeriesInput = z.object({ capsulId, range: usageRange });

/** Columns, uPlot's shape: `at` in seconds since the epoch, and each metric's values (null: no point). */
export const CAPSUL_METRICS = ['cpuPercent', 'memoryBytes', 'netInBps', 'netOutBps', 'diskReadBps', 'diskWriteBps'] as const;
export type CapsulMetric = (typeof CAPSUL_METRICS)[number];
export type CapsulSeries = {
  range: UsageRange;
  /** Seconds between drawn points (a point is the average over its step). */
  stepSeconds: number;
  from: Date;
  to: Date;
  at: number[];
  values: Record<CapsulMetric, (number | null)[]>;
  /** What the capsul has, so a graph can show its limit (memory) and say why it is empty. */
  capsul: { vcpus: number; memoryMb: number; state: string; createdAt: Date };
  /** Its host runs the fake driver: the numbers are simulated. */
  simulated: boolean;
  /** The newest raw point, and the interval it covered (the spoke's sample period). */
  lastPointAt: Date | null;
  samplePeriodSeconds: number | null;
};

export const HOST_METRICS = ['cpuPercent', 'memoryUsedBytes', 'memoryTotalBytes', 'diskUsedBytes', 'diskTotalBytes', 'memoryCommittedBytes', 'diskCommittedBytes'] as const;
export type HostMetric = (typeof HOST_METRICS)[number];

export const hostSeriesInput = z.object({ hostId: z.string().max(63).optional(), range: usageRange });
export type HostSeries = {
  range: UsageRange;
  stepSeconds: number;
  from: Date;
  to: Date;
  /** One host's series, or with no hostId the fleet's: sums over hosts (CPU: the average). */
  hostId: string | null;
  at: number[];
  values: Record<HostMetric, (number | null)[]>;
};

export const topCapsulsInput = z.object({ range: z.enum(['hour', 'day']), limit: z.number().int().min(1).max(50).default(10) });
export type TopCapsul = { id: string; name: string; ownerEmail: string; hostId: string | null; cpuPercent: number; trafficBps: number };
export type TopCapsuls = { byCpu: TopCapsul[]; byTraffic: TopCapsul[] };
