'use client';
// The capsul's serial console in the browser: xterm.js on the hub's /console WebSocket (src/hub/console/
// relay.ts). Each connection takes a fresh single-use ticket from `console.ticket`. The boot log arrives first
// (the terminal is reset on each attach, so a reconnect does not show it twice); a connection that drops for
// a reason other than the owner's (the spoke or the hub restarted, a network blip) is tried again.
import '@xterm/xterm/css/xterm.css';
import { useMutation } from '@tanstack/react-query';
import { useEffect, useRef, useState } from 'react';
import { CLOSE, parseControl, TICKET_PARAM } from '~/contract/console';
import { useTRPC } from '~/trpc/react';

type Status = { kind: 'closed' | 'connecting' | 'live' | 'reconnecting' | 'ended'; message?: string; simulated?: boolean };

/** Closes after which trying again will not help: the owner's own, a refusal, idle, bad input. */
const FINAL = new Set<number>([CLOSE.normal, CLOSE.refused, CLOSE.notFound, CLOSE.idle, CLOSE.protocol, CLOSE.tooFast]);

export function SerialConsole({ id }: { id: string }) {
  const trpc = useTRPC();
  const ticket = useMutation(trpc.console.ticket.mutationOptions());
  const mint = useRef(ticket.mutateAsync);
  useEffect(() => {
    mint.current = ticket.mutateAsync;
  });
  const box = useRef<HTMLDivElement>(null);
  const [open, setOpen] = useState(false);
  const [status, setStatus] = useState<Status>({ kind: 'closed' });

  useEffect(() => {
    if (!open || !box.current) return;
    let stopped = false;
    let ws: WebSocket | undefined;
    let attempt = 0;
    let retry: ReturnType<typeof setTimeout> | undefined;
    const disposers: (() => void)[] = [];
    const encoder = new TextEncoder();

    void (async () => {
      const { Terminal } = await import('@xterm/xterm');
      if (stopped || !box.current) return;
      const term = new Terminal({ cols: 100, rows: 30, convertEol: false, scrollback: 5000, fontSize: 14 });
      term.open(box.current);
      term.focus();
      disposers.push(() => term.dispose());
      const input = term.onData((data) => {
        if (ws?.readyState === WebSocket.OPEN) ws.send(encoder.encode(data));
      });
      const resize = term.onResize(({ cols, rows }) => {
        if (ws?.readyState === WebSocket.OPEN) ws.send(JSON.stringify({ t: 'resize', cols, rows }));
      });
      disposers.push(() => input.dispose(), () => resize.dispose());

      const connect = async () => {
        setStatus((s) => ({ ...s, kind: attempt === 0 ? 'connecting' : 'reconnecting' }));
        let minted;
        try {
          minted = await mint.current({ id });
        } catch (err) {
          setStatus({ kind: 'ended', message: (err as Error).message });
          return;
        }
        if (stopped) return;
        const url = `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}${minted.path}?${TICKET_PARAM}=${minted.ticket}`;
        const socket = new WebSocket(url);
        socket.binaryType = 'arraybuffer';
        ws = socket;
        let reason = '';
        socket.onmessage = (event) => {
          if (event.data instanceof ArrayBuffer) return term.write(new Uint8Array(event.data));
          const frame = parseControl(String(event.data));
          if (frame?.t === 'attached') {
            term.reset();
            setStatus({ kind: 'connecting', simulated: frame.simulated });
          } else if (frame?.t === 'live') {
            attempt = 0;
            setStatus((s) => ({ ...s, kind: 'live', message: undefined }));
          } else if (frame?.t === 'close') reason = frame.reason;
        };
        socket.onclose = (event) => {
          if (stopped || ws !== socket) return;
          const why = reason || event.reason || 'the connection was lost';
          if (FINAL.has(event.code) || attempt >= 8) return setStatus({ kind: 'ended', message: why });
          attempt++;
          setStatus((s) => ({ ...s, kind: 'reconnecting', message: why }));
          retry = setTimeout(() => void connect(), Math.min(10_000, 500 * 2 ** attempt));
        };
      };
      await connect();
    })();

    return () => {
      stopped = true;
      clearTimeout(retry);
      ws?.close(1000);
      for (const dispose of disposers.reverse()) dispose();
    };
  }, [open, id]);

  return (
    <section className="card" aria-labelledby="console" style={{ marginTop: '1rem' }}>
      <div className="header-row">
        <h2 id="console" style={{ marginTop: 0 }}>
          Console
        </h2>
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
      <p className="muted small" data-testid="console-status" aria-live="polite">
        {status.kind === 'closed'
          ? 'The first serial port, in your browser: for a capsul whose network or SSH is broken.'
          : status.kind === 'live'
            ? `Attached.${status.simulated ? ' This is the fake driver’s simulated console, not a real VM.' : ''}`
            : status.kind === 'reconnecting'
              ? `Reconnecting… (${status.message ?? ''})`
              : status.kind === 'ended'
                ? `Closed: ${status.message ?? ''}`
                : 'Connecting…'}
      </p>
      {open ? <div ref={box} data-testid="serial-console" style={{ minHeight: '28rem' }} /> : null}
    </section>
  );
}
