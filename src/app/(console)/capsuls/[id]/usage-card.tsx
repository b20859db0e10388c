'use client';
// The capsul's usage graphs (usage.capsul): CPU, memory against its size, network and disk, over the last
// hour, day, month or year, asked again while the page is open. With no point yet it says why.
import { keepPreviousData, useQuery } from '@tanstack/react-query';
import { useMemo, useState } from 'react';
import { formatAgo } from '~/components/format';
import { pointCount, spanOf, TimeZoneNote, UsageCharts, type ChartSpec } from '~/components/usage-chart';
import { RangeButtons } from '~/components/usage-range';
import { formatUsage } from '~/components/usage-units';
import { usageRange, type UsageRange } from '~/contract/usage';
import { useTRPC } from '~/trpc/react';

/** How often each range is asked again: the last hour at the spoke's sample period (known from its points;
 * before the first, every few seconds), the rest less often. */
const POLL_SECONDS: Record<UsageRange, number | 'sample'> = { hour: 'sample', day: 60, month: 300, year: 300 };
const BEFORE_FIRST_POINT_SECONDS = 5;

/** Why a range has no point yet, when the capsul itself is not the reason (month and year read rollups). */
const ROLLUP_WAIT: Partial<Record<UsageRange, string>> = {
  month: 'Month view shows hourly averages of the 5-minute rollups; the first appears a few minutes after the first point, once its 5-minute rollup has run.',
  year: 'Year view shows daily averages of the hourly rollups; the first appears about an hour after the first point, once its hourly rollup has run.',
};

const BEING_MADE = new Set(['pending', 'creating']);

export function UsageCard({ id, state }: { id: string; state: string }) {
  const trpc = useTRPC();
  const [range, setRange] = useState<UsageRange>('hour');
  const usage = useQuery(
    trpc.usage.capsul.queryOptions(
      { capsulId: id, range },
      {
        placeholderData: keepPreviousData,
        refetchInterval: (q) => {
          const poll = POLL_SECONDS[range];
          return Math.max(1, poll === 'sample' ? q.state.data?.samplePeriodSeconds || BEFORE_FIRST_POINT_SECONDS : poll) * 1000;
        },
      },
    ),
  );
  const s = usage.data;
  const charts = useMemo((): ChartSpec[] => {
    if (!s) return [];
    const v = s.values;
    const size = s.capsul.memoryMb * 2 ** 20;
    return [
      { id: 'cpu', title: `CPU (% of ${s.capsul.vcpus} vCPU${s.capsul.vcpus === 1 ? '' : 's'})`, unit: 'percent', lines: [{ label: 'CPU', values: v.cpuPercent, color: 'accent' }] },
      {
        id: 'memory',
        title: `Memory (of ${formatUsage(size, 'bytes')})`,
        unit: 'bytes',
        lines: [
          { label: 'Used', values: v.memoryBytes, color: 'accent' },
          { label: 'Size', values: s.at.map(() => size), color: 'muted', dashed: true },
        ],
      },
      {
        id: 'network',
        title: 'Network',
        unit: 'bytesPerSecond',
        lines: [
          { label: 'In', values: v.netInBps, color: 'accent' },
          { label: 'Out', values: v.netOutBps, color: 'warn' },
        ],
      },
      {
        id: 'disk',
        title: 'Disk',
        unit: 'bytesPerSecond',
        lines: [
          { label: 'Read', values: v.diskReadBps, color: 'accent' },
          { label: 'Write', values: v.diskWriteBps, color: 'warn' },
        ],
      },
    ];
  }, [s]);
  // The size line is always there: count the measured ones only.
  const points = s ? pointCount(s.at, Object.values(s.values).map((values) => ({ values }))) : 0;

  return (
    <section className="card" aria-labelledby="usage" style={{ marginTop: '1rem' }} data-testid="usage-card" data-range={s?.range} data-points={points}>
      <div className="header-row">
        <h2 id="usage" style={{ marginTop: 0 }}>
          Usage
        </h2>
        <RangeButtons ranges={usageRange.options} value={range} onChange={setRange} label="Usage range" />
      </div>
      {s?.simulated ? <p className="notice">Simulated numbers: this capsul&apos;s host runs the fake driver.</p> : null}
      {usage.error ? (
        <p className="notice bad" role="alert">
          {usage.error.message}
        </p>
      ) : !s ? (
        <p className="muted">Loading…</p>
      ) : points === 0 ? (
        <p className="empty" data-testid="usage-empty">
          {emptyReason(s, state)}
        </p>
      ) : (
        <>
          {state !== 'running' ? <p className="muted">Not running: no new points until it runs again.</p> : null}
          <UsageCharts at={s.at} span={spanOf(s)} charts={charts} busy={usage.isPlaceholderData} />
        </>
      )}
      <TimeZoneNote />
    </section>
  );
}

type Series = { range: UsageRange; to: Date; samplePeriodSeconds: number | null; capsul: { createdAt: Date } };

function emptyReason(s: Series, state: string): string {
  if (BEING_MADE.has(state)) return 'No usage yet: the capsul is still being created.';
  const sample = s.samplePeriodSeconds ? `${s.samplePeriodSeconds} s` : 'a sample period (15 s by default)';
  const age = s.to.getTime() - s.capsul.createdAt.getTime();
  if (ROLLUP_WAIT[s.range] && age < 2 * 86_400_000) return ROLLUP_WAIT[s.range]!;
  if (state !== 'running') return `No usage in this range: the capsul is not running (${state.replace('_', ' ')}).`;
  if (age < 3_600_000) return `No usage yet: this capsul was created ${formatAgo(s.capsul.createdAt, s.to.getTime())}; the first point arrives within ${sample}.`;
  return `No usage in this range: its host has sent none (it may be offline or not yet measuring). Points arrive every ${sample}.`;
}
