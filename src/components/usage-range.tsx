'use client';
// The range a usage graph shows: Hour, Day, Month, Year (or fewer, for what only has some), as a group of
// toggle buttons.
import type { UsageRange } from '~/contract/usage';

const LABELS: Record<UsageRange, string> = { hour: 'Hour', day: 'Day', month: 'Month', year: 'Year' };

export function RangeButtons<R extends UsageRange>({ ranges, value, onChange, label }: { ranges: readonly R[]; value: R; onChange: (range: R) => void; label: string }) {
  return (
    <div className="actions" role="group" aria-label={label}>
      {ranges.map((r) => (
        <button key={r} type="button" className={r === value ? undefined : 'secondary'} aria-pressed={r === value} onClick={() => onChange(r)}>
          {LABELS[r]}
        </button>
      ))}
    </div>
  );
}
