'use client';
// One usage graph (uPlot): one metric group, e.g. network in and out, over time in the browser's time zone.
// Its width follows its box (a phone's too); no point is a gap in the line. The plot is made once per set of
// lines and given new data with setData, so a poll does not draw it anew.
import 'uplot/dist/uPlot.min.css';
import { useEffect, useRef, useSyncExternalStore } from 'react';
import uPlot from 'uplot';
import { BINARY_STEPS, formatTicks, formatUsage, type UsageUnit } from './usage-units';

/** Colours from globals.css, so the lines follow the light and dark themes. */
export type LineColor = 'accent' | 'ok' | 'warn' | 'danger' | 'muted';
export type ChartLine = { label: string; values: (number | null)[]; color: LineColor; dashed?: boolean };
/** One graph of a set: its lines share the time column and a unit. */
export type ChartSpec = { id: string; title: string; unit: UsageUnit; lines: ChartLine[] };
/** The time a graph spans, in seconds since the epoch: the whole range asked for, not only where points are. */
export type Span = { from: number; to: number };
export const spanOf = (series: { from: Date; to: Date }): Span => ({ from: series.from.getTime() / 1000, to: series.to.getTime() / 1000 });

const HEIGHT = 180;

const cssVar = (name: string) => getComputedStyle(document.documentElement).getPropertyValue(`--${name}`).trim();

/** Time steps where at least one line has a point. */
export function pointCount(at: number[], lines: { values: (number | null)[] }[]): number {
  return at.filter((_, i) => lines.some((l) => l.values[i] !== null && l.values[i] !== undefined)).length;
}

const absent = (v: number | null | undefined) => v === null || v === undefined;

/** A point with no neighbour draws no line: these are marked as dots (when uPlot does not dot every point). */
function isolated(u: uPlot, seriesIdx: number, show: boolean): number[] | null {
  if (show) return null;
  const values = u.data[seriesIdx] as (number | null | undefined)[];
  const out = values.flatMap((v, i) => (!absent(v) && absent(values[i - 1]) && absent(values[i + 1]) ? [i] : []));
  return out.length ? out : null;
}

/** Off the plot, the legend reads the newest point (on it, the point under the cursor). */
function legendAtNewest(u: uPlot) {
  if (u.cursor.idx === null || u.cursor.idx === undefined) u.setLegend({ idx: Math.max(0, u.data[0].length - 1) }, false);
}

function options(width: number, unit: UsageUnit, lines: ChartLine[], span: () => Span | undefined): uPlot.Options {
  const muted = cssVar('muted');
  const grid = { stroke: cssVar('border'), width: 1 };
  return {
    width,
    height: HEIGHT,
    series: [
      {},
      ...lines.map((l) => ({
        label: l.label,
        stroke: cssVar(l.color),
        width: 1.5,
        dash: l.dashed ? [6, 4] : undefined,
        points: { filter: isolated },
        value: (_: uPlot, v: number | null) => formatUsage(v, unit),
      })),
    ],
    axes: [
      { stroke: muted, grid, ticks: grid, space: 70 },
      { stroke: muted, grid, ticks: grid, size: 76, incrs: unit === 'percent' ? undefined : BINARY_STEPS, values: (_, ticks) => formatTicks(ticks, unit) },
    ],
    // From zero; percent up to 100, the rest a little above the highest point.
    scales: {
      x: { range: (_, min, max) => (span() ? [span()!.from, span()!.to] : [min, max]) },
      y: { range: (_, _min, max) => (unit === 'percent' ? [0, 100] : [0, max > 0 ? max * 1.1 : 1]) },
    },
    cursor: { drag: { x: false, y: false } },
    hooks: { ready: [legendAtNewest], setData: [legendAtNewest], setCursor: [legendAtNewest] },
  };
}

export function UsageChart({ id, title, unit, at, lines, span }: { id: string; title: string; unit: UsageUnit; at: number[]; lines: ChartLine[]; span?: Span }) {
  const box = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);
  const drawn = useRef<unknown[]>([]);
  const data: uPlot.AlignedData = [at, ...lines.map((l) => l.values)];
  const shape = JSON.stringify([unit, lines.map((l) => [l.label, l.color, l.dashed])]);

  // Made once per shape, destroyed on unmount; sized to its box whenever the box changes.
  const latest = useRef({ data, lines, unit, span });
  useEffect(() => {
    latest.current = { data, lines, unit, span };
  });
  useEffect(() => {
    const el = box.current;
    if (!el) return;
    const { data, lines, unit } = latest.current;
    const u = new uPlot(options(el.clientWidth, unit, lines, () => latest.current.span), data, el);
    plot.current = u;
    drawn.current = [...data];
    const observer = new ResizeObserver(() => u.setSize({ width: el.clientWidth, height: HEIGHT }));
    observer.observe(el);
    return () => {
      observer.disconnect();
      u.destroy();
      plot.current = null;
    };
  }, [shape]);
  // New data (a poll, another range): only the columns that changed make it draw again.
  useEffect(() => {
    if (!plot.current || (data.length === drawn.current.length && data.every((column, i) => column === drawn.current[i]))) return;
    drawn.current = [...data];
    plot.current.setData(data);
  });

  return (
    <figure className="usage-chart" data-testid={`usage-chart-${id}`} data-points={pointCount(at, lines)} style={{ margin: 0 }}>
      <figcaption>{title}</figcaption>
      <div ref={box} style={{ minHeight: HEIGHT }} />
    </figure>
  );
}

/** A set of graphs over one time column, side by side where there is room, one under another on a phone. */
export function UsageCharts({ at, span, charts, busy }: { at: number[]; span?: Span; charts: ChartSpec[]; busy?: boolean }) {
  return (
    <div className="usage-charts" aria-busy={busy}>
      {charts.map((c) => (
        <UsageChart key={c.id} id={c.id} title={c.title} unit={c.unit} at={at} span={span} lines={c.lines} />
      ))}
    </div>
  );
}

const noSubscription = () => () => {};

/** "Times in Europe/Berlin": the zone the graphs' axes are drawn in (the browser's; nothing on the server). */
export function TimeZoneNote() {
  const zone = useSyncExternalStore(noSubscription, () => Intl.DateTimeFormat().resolvedOptions().timeZone, () => null);
  return (
    <p className="muted small" data-testid="usage-time-zone">
      {zone ? `Times in ${zone}.` : '\u00a0'}
    </p>
  );
}
