'use client';
// The capsul's serial console in the browser: xterm.js on the hub's /console WebSocket (src/hub/console/
// relay.ts), through the loop in src/contract/console-client.ts (tested without a browser): a fresh ticket per
// connection, the terminal reset on each attach (the boot log follows, so a reconnect does not show it
// twice), "Reconnecting…" while a connection that dropped for a reason other than the owner's is tried again.
import '@xterm/xterm/css/xterm.css';
import { useEffect, useRef, useState } from 'react';
import { connectConsole, type ConsoleStatus, type SocketLike } from '~/contract/console-client';
import { useConsoleTicket } from './use-console-ticket';

type Status = { kind: 'closed' } | ConsoleStatus;

export function SerialConsole({ id }: { id: string }) {
  const mint = useConsoleTicket(id, 'serial');
  const box = useRef<HTMLDivElement>(null);
  const [open, setOpen] = useState(false);
  const [status, setStatus] = useState<Status>({ kind: 'closed' });

  useEffect(() => {
    if (!open || !box.current) return;
    let stopped = false;
    const disposers: (() => void)[] = [];
    const encoder = new TextEncoder();

    void (async () => {
      const [{ Terminal }, { FitAddon }] = await Promise.all([import('@xterm/xterm'), import('@xterm/addon-fit')]);
      if (stopped || !box.current) return;
      const term = new Terminal({ cols: 100, rows: 30, convertEol: false, scrollback: 5000, fontSize: 14 });
      // The terminal fills its box and follows the window's size; each new size is sent as `resize`.
      const fit = new FitAddon();
      term.loadAddon(fit);
      term.open(box.current);
      fit.fit();
      const observer = new ResizeObserver(() => fit.fit());
      observer.observe(box.current);
      // Copy and paste: Ctrl-Shift-C / Ctrl-Shift-V (Ctrl-C stays the guest's interrupt); the browser's own
      // paste (menu, middle click) works as well.
      term.attachCustomKeyEventHandler((e) => {
        if (e.type !== 'keydown' || !e.ctrlKey || !e.shiftKey) return true;
        if (e.code === 'KeyC') {
          const selected = term.getSelection();
          if (selected) void navigator.clipboard?.writeText(selected).catch(() => {});
          return false;
        }
        if (e.code === 'KeyV') {
          void navigator.clipboard?.readText().then((text) => term.paste(text)).catch(() => {});
          return false;
        }
        return true;
      });
      term.focus();
      disposers.push(() => observer.disconnect(), () => term.dispose());
      const client = connectConsole({
        mint,
        // The DOM's MessageEvent is more than the loop reads ({ data }).
        open: (pathAndQuery) => new WebSocket(`${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}${pathAndQuery}`) as unknown as SocketLike,
        onStatus: (s) => !stopped && setStatus(s),
        onAttached: () => term.reset(),
        onData: (bytes) => term.write(bytes),
      });
      disposers.push(() => client.close());
      const input = term.onData((data) => client.send(encoder.encode(data)));
      const resize = term.onResize(({ cols, rows }) => client.resize(cols, rows));
      disposers.push(() => input.dispose(), () => resize.dispose());
    })();

    return () => {
      stopped = true;
      for (const dispose of disposers.reverse()) dispose();
    };
  }, [open, mint]);

  return (
    <div role="tabpanel" aria-label="Serial console">
      <div className="header-row">
        <p className="muted small" data-testid="console-status" aria-live="polite" style={{ margin: 0 }}>
          {status.kind === 'closed'
            ? 'The first serial port, in your browser: for a capsul whose network or SSH is broken. Copy and paste: Ctrl-Shift-C, Ctrl-Shift-V.'
            : status.kind === 'live'
              ? `Attached.${status.simulated ? ' This is the fake driver’s simulated console, not a real VM.' : ''}`
              : status.kind === 'reconnecting'
                ? `Reconnecting… (${status.message ?? ''})`
                : status.kind === 'ended'
                  ? `Closed: ${status.message ?? ''}`
                  : 'Connecting…'}
        </p>
        {open ? (
          <button type="button" className="secondary" onClick={() => (setOpen(false), setStatus({ kind: 'closed' }))}>
            Close console
          </button>
        ) : (
          <button type="button" onClick={() => setOpen(true)}>
            Open console
          </button>
        )}
      </div>
      {open ? <div ref={box} data-testid="serial-console" style={{ minHeight: '28rem', marginTop: '0.5rem' }} /> : null}
    </div>
  );
}
