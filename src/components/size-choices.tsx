import type { ReactNode } from 'react';
import { formatSize } from './format';

type Size = { id: string; name: string; vcpus: number; memoryMb: number; diskGb: number };

/** Catalog sizes as radio cards: name, vCPUs · memory · disk, and whatever `extra` adds under each. */
export function SizeChoices<S extends Size>(props: {
  name: string;
  sizes: S[];
  value: string;
  onChange: (id: string) => void;
  disabled?: (size: S) => boolean;
  extra?: (size: S) => ReactNode;
}) {
  const { name, sizes, value, onChange, disabled, extra } = props;
  return (
    <div className="choices">
      {sizes.map((s) => (
        <label key={s.id} className="choice">
          <input type="radio" name={name} value={s.id} checked={value === s.id} disabled={disabled?.(s)} onChange={() => onChange(s.id)} />
          <span>
            <strong>{s.name}</strong>
            <br />
            <span className="muted">{formatSize(s)}</span>
            {extra?.(s)}
          </span>
        </label>
      ))}
    </div>
  );
}
