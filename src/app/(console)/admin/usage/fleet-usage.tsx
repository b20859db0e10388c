'use client';
// The fleet's usage (usage.host, usage.top): its totals, one host's, and the capsuls using the most CPU and
// traffic. Memory and disk show what capsuls were given (committed) next to what is in use and the total.
import { keepPreviousData, useQuery } from '@tanstack/react-query';
import Link from 'next/link';
import { useState } from 'react';
import { pointCount, spanOf, TimeZoneNote, UsageCharts, type ChartSpec } from '~/components/usage-chart';
import { RangeButtons } from '~/components/usage-range';
import { formatUsage } from '~/components/usage-units';
import { usageRange, type HostSeries, type TopCapsul, type UsageRange } from '~/contract/usage';
import { useTRPC } from '~/trpc/react';

/** Hosts' last hour is drawn per minute: asked again each minute, the longer ranges less often. */
const POLL_MS: Record<UsageRange, number> = { hour: 60_000, day: 60_000, month: 300_000, year: 300_000 };
const TOP_RANGES = ['hour', 'day'] as const;

function hostCharts(v: HostSeries['values']): ChartSpec[] {
  return [
    { id: 'cpu', title: 'CPU (% of all cores)', unit: 'percent', lines: [{ label: 'CPU', values: v.cpuPercent, color: 'accent' }] },
    {
      id: 'memory',
      title: 'Memory',
      unit: 'bytes',
      lines: [
        { label: 'Committed', values: v.memoryCommittedBytes, color: 'warn' },
        { label: 'Used', values: v.memoryUsedBytes, color: 'accent' },
        { label: 'Total', values: v.memoryTotalBytes, color: 'muted', dashed: true },
      ],
    },
    {
      id: 'disk',
      title: 'Disk',
      unit: 'bytes',
      lines: [
        { label: 'Committed', values: v.diskCommittedBytes, color: 'warn' },
        { label: 'Used', values: v.diskUsedBytes, color: 'accent' },
        { label: 'Total', values: v.diskTotalBytes, color: 'muted', dashed: true },
      ],
    },
  ];
}

function HostCharts({ hostId, range, testId }: { hostId?: string; range: UsageRange; testId: string }) {
  const trpc = useTRPC();
  const usage = useQuery(trpc.usage.host.queryOptions({ hostId, range }, { placeholderData: keepPreviousData, refetchInterval: POLL_MS[range] }));
  const s = usage.data;
  const charts = s ? hostCharts(s.values) : [];
  const points = s ? pointCount(s.at, charts.flatMap((c) => c.lines)) : 0;
  return (
    <div data-testid={testId} data-range={s?.range} data-points={points}>
      {usage.error ? (
        <p className="notice bad" role="alert">
          {usage.error.message}
        </p>
      ) : !s ? (
        <p className="muted">Loading…</p>
      ) : points === 0 ? (
        <p className="empty">No usage in this range yet{range === 'month' || range === 'year' ? ': this view reads rollups, which follow the first points by minutes (month) or an hour (year)' : ''}.</p>
      ) : (
        <UsageCharts at={s.at} span={spanOf(s)} charts={charts} busy={usage.isPlaceholderData} />
      )}
    </div>
  );
}

function TopTable({ title, rows, value }: { title: string; rows: TopCapsul[]; value: (c: TopCapsul) => string }) {
  return (
    <>
      <h3>{title}</h3>
      {rows.length ? (
        <table className="stack">
          <thead>
            <tr>
              <th scope="col">Capsul</th>
              <th scope="col">Owner</th>
              <th scope="col">Host</th>
              <th scope="col">Average</th>
            </tr>
          </thead>
          <tbody>
            {rows.map((c) => (
              <tr key={c.id} data-capsul={c.id}>
                <td data-label="Capsul">
                  <Link href={`/capsuls/${c.id}`}>{c.name}</Link> <span className="mono muted small">{c.id}</span>
                </td>
                <td data-label="Owner">{c.ownerEmail}</td>
                <td data-label="Host">{c.hostId ?? '—'}</td>
                <td data-label="Average">{value(c)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : (
        <p className="muted">None in this range.</p>
      )}
    </>
  );
}

function TopCapsuls() {
  const trpc = useTRPC();
  const [range, setRange] = useState<(typeof TOP_RANGES)[number]>('hour');
  const top = useQuery(trpc.usage.top.queryOptions({ range, limit: 10 }, { placeholderData: keepPreviousData, refetchInterval: POLL_MS[range] }));
  return (
    <section aria-labelledby="top">
      <div className="header-row" style={{ marginTop: '1.5rem' }}>
        <h2 id="top" style={{ margin: 0 }}>
          Top capsuls
        </h2>
        <RangeButtons ranges={TOP_RANGES} value={range} onChange={setRange} label="Top capsuls range" />
      </div>
      {top.error ? (
        <p className="notice bad" role="alert">
          {top.error.message}
        </p>
      ) : top.data ? (
        <div className="grid" style={{ gridTemplateColumns: 'repeat(auto-fit, minmax(min(100%, 420px), 1fr))' }}>
          <div data-testid="top-by-cpu">
            <TopTable title="By CPU" rows={top.data.byCpu} value={(c) => formatUsage(c.cpuPercent, 'percent')} />
          </div>
          <div data-testid="top-by-traffic">
            <TopTable title="By traffic (in + out)" rows={top.data.byTraffic} value={(c) => formatUsage(c.trafficBps, 'bytesPerSecond')} />
          </div>
        </div>
      ) : (
        <p className="muted">Loading…</p>
      )}
    </section>
  );
}

export function FleetUsage() {
  const trpc = useTRPC();
  const hosts = useQuery(trpc.host.list.queryOptions());
  const [range, setRange] = useState<UsageRange>('hour');
  const [picked, setPicked] = useState<string | undefined>(undefined);
  const hostId = picked ?? hosts.data?.[0]?.id;
  return (
    <>
      <div className="header-row">
        <h2 id="fleet" style={{ margin: 0 }}>
          Fleet
        </h2>
        <RangeButtons ranges={usageRange.options} value={range} onChange={setRange} label="Usage range" />
      </div>
      <section aria-labelledby="fleet">
        <p className="muted">Totals over every host (CPU: their average).</p>
        <HostCharts range={range} testId="fleet-usage" />
      </section>
      <section aria-labelledby="host-usage">
        <h2 id="host-usage">One host</h2>
        {hosts.data?.length ? (
          <>
            <div className="filters">
              <div className="field">
                <label htmlFor="usage-host">Host</label>
                <select id="usage-host" value={hostId} onChange={(e) => setPicked(e.target.value)}>
                  {hosts.data.map((h) => (
                    <option key={h.id} value={h.id}>
                      {h.id}
                    </option>
                  ))}
                </select>
              </div>
            </div>
            <HostCharts key={hostId} hostId={hostId} range={range} testId="host-usage" />
          </>
        ) : (
          <p className="muted">No hosts yet.</p>
        )}
      </section>
      <TimeZoneNote />
      <TopCapsuls />
    </>
  );
}
