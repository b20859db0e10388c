'use client';
// The capsul's consoles, one card with two tabs: the serial line (xterm.js) and the screen (noVNC).
import { useState } from 'react';
import { GraphicalConsole } from './graphical-console';
import { SerialConsole } from './serial-console';

export function ConsoleCard({ id }: { id: string }) {
  const [tab, setTab] = useState<'serial' | 'vnc'>('serial');
  return (
    <section className="card" aria-labelledby="console" style={{ marginTop: '1rem' }}>
      <div className="header-row">
        <h2 id="console" style={{ marginTop: 0 }}>
          Console
        </h2>
        <div role="tablist" aria-label="Console" style={{ display: 'flex', gap: '0.5rem' }}>
          <button type="button" role="tab" aria-selected={tab === 'serial'} className={tab === 'serial' ? undefined : 'secondary'} onClick={() => setTab('serial')}>
            Serial
          </button>
          <button type="button" role="tab" aria-selected={tab === 'vnc'} className={tab === 'vnc' ? undefined : 'secondary'} onClick={() => setTab('vnc')}>
            Screen
          </button>
        </div>
      </div>
      {tab === 'serial' ? <SerialConsole id={id} /> : <GraphicalConsole id={id} />}
    </section>
  );
}
