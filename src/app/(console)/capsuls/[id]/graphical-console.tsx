'use client';
// The capsul's screen in the browser: noVNC (@novnc/novnc) on the hub's /console WebSocket with a `vnc`
// ticket. The hub relays RFB bytes to the spoke, which connects to QEMU's VNC server on a local Unix socket;
// no VNC port is open anywhere. Ctrl-Alt-Del is a button (the browser keeps that chord for itself). A drop that
// is not final (the same closes as the serial console's, FINAL_CLOSES) is tried again with back-off, with a
// fresh ticket and a new noVNC view. The fake driver has no screen: the spoke says so, and the reason is shown.
import { useEffect, useRef, useState } from 'react';
import { TICKET_PARAM } from '~/contract/console';
import { FINAL_CLOSES, isRefusal } from '~/contract/console-client';
import { useConsoleTicket } from './use-console-ticket';

type Rfb = { sendCtrlAltDel(): void; disconnect(): void; scaleViewport: boolean; addEventListener(type: string, listener: (e: Event & { detail?: { clean?: boolean; reason?: string } }) => void): void };
type Status = { kind: 'closed' | 'connecting' | 'live' | 'reconnecting' | 'ended'; message?: string };
const MAX_ATTEMPTS = 8;

export function GraphicalConsole({ id }: { id: string }) {
  const mint = useConsoleTicket(id, 'vnc');
  const box = useRef<HTMLDivElement>(null);
  const rfb = useRef<Rfb | null>(null);
  const [open, setOpen] = useState(false);
  const [status, setStatus] = useState<Status>({ kind: 'closed' });
  // Each reconnect is a new connection: bumping `generation` runs the effect again; `failures` counts the drops
  // since the screen last showed.
  const [generation, setGeneration] = useState(0);
  const failures = useRef(0);

  useEffect(() => {
    if (!open || !box.current) return;
    let stopped = false;
    let ws: WebSocket | undefined;
    let retry: ReturnType<typeof setTimeout> | undefined;
    const again = (message: string, final: boolean) => {
      failures.current++;
      if (final || failures.current > MAX_ATTEMPTS) return setStatus({ kind: 'ended', message });
      setStatus({ kind: 'reconnecting', message });
      retry = setTimeout(() => setGeneration((g) => g + 1), Math.min(10_000, 500 * 2 ** failures.current));
    };
    void (async () => {
      if (failures.current === 0) setStatus({ kind: 'connecting' });
      let minted;
      try {
        minted = await mint();
      } catch (err) {
        return again((err as Error).message, isRefusal((err as Error).message));
      }
      const { default: RFB } = (await import('@novnc/novnc')) as { default: new (target: HTMLElement, socket: WebSocket, options?: object) => Rfb };
      if (stopped || !box.current) return;
      // Our own WebSocket, so its close reason (the spoke's, e.g. the fake driver's "no graphical console")
      // can be shown; noVNC takes an open-or-opening socket as well as a URL.
      ws = new WebSocket(`${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}${minted.path}?${TICKET_PARAM}=${minted.ticket}`);
      ws.binaryType = 'arraybuffer';
      let reason = '';
      let code = 1006;
      ws.addEventListener('close', (e) => ((reason = e.reason), (code = e.code)));
      const view = new RFB(box.current, ws, { shared: true });
      view.scaleViewport = true;
      rfb.current = view;
      view.addEventListener('connect', () => {
        failures.current = 0;
        if (!stopped) setStatus({ kind: 'live' });
      });
      view.addEventListener('disconnect', () => {
        rfb.current = null;
        // The close event comes with (or just before) noVNC's disconnect; give it a turn to arrive.
        setTimeout(() => !stopped && again(reason || 'the connection was lost', FINAL_CLOSES.has(code)), 50);
      });
    })();
    return () => {
      stopped = true;
      clearTimeout(retry);
      rfb.current?.disconnect();
      rfb.current = null;
      ws?.close(1000);
    };
  }, [open, mint, generation]);

  return (
    <div role="tabpanel" aria-label="Graphical console">
      <div className="header-row">
        <p className="muted small" data-testid="vnc-status" aria-live="polite" style={{ margin: 0 }}>
          {status.kind === 'closed'
            ? 'The VGA screen, in your browser: for a guest with no serial console.'
            : status.kind === 'live'
              ? 'Attached to the screen.'
              : status.kind === 'reconnecting'
                ? `Reconnecting… (${status.message ?? ''})`
                : status.kind === 'ended'
                ? `Closed: ${status.message ?? ''}`
                : 'Connecting…'}
        </p>
        <div style={{ display: 'flex', gap: '0.5rem' }}>
          {open ? (
            <>
              <button type="button" className="secondary" disabled={status.kind !== 'live'} onClick={() => rfb.current?.sendCtrlAltDel()}>
                Send Ctrl-Alt-Del
              </button>
              <button type="button" className="secondary" onClick={() => (setOpen(false), (failures.current = 0), setStatus({ kind: 'closed' }))}>
                Close screen
              </button>
            </>
          ) : (
            <button type="button" onClick={() => setOpen(true)}>
              Open screen
            </button>
          )}
        </div>
      </div>
      {open ? <div ref={box} data-testid="vnc-console" style={{ height: '30rem', marginTop: '0.5rem', background: '#000' }} /> : null}
    </div>
  );
}
