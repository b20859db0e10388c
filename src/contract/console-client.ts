// The viewer's side of the serial console, without a DOM: the browser's Console card (serial-console.tsx) and
// the tests drive the same loop. Each connection takes a fresh single-use ticket; the terminal is reset on each
// `attached` (the history follows, so a reconnect does not show it twice); a close that is not final (the
// spoke or the hub restarted, a network blip) is tried again with back-off, saying "reconnecting" meanwhile.
import { CLOSE, parseControl, TICKET_PARAM, type ControlFrame } from './console';

export type ConsoleStatus = { kind: 'connecting' | 'live' | 'reconnecting' | 'ended'; message?: string; simulated?: boolean };

/** What the loop needs of a WebSocket (the browser's, or `ws`'s in tests). */
export type SocketLike = {
  binaryType: string;
  readonly readyState: number;
  send(data: string | Uint8Array): void;
  close(code?: number): void;
  onmessage: ((event: { data: unknown }) => void) | null;
  onclose: ((event: { code: number; reason: string }) => void) | null;
};

/** Closes after which trying again will not help: the owner's own, a refusal, idle, bad input. */
export const FINAL_CLOSES = new Set<number>([CLOSE.normal, CLOSE.refused, CLOSE.notFound, CLOSE.idle, CLOSE.protocol, CLOSE.tooFast, CLOSE.unsupported]);
const OPEN = 1;

/** A ticket refused for a reason another try will not change (as opposed to a hub that is restarting). */
export function isRefusal(mintError: string): boolean {
  return /NOT_FOUND|FORBIDDEN|UNAUTHORIZED|PRECONDITION|no host|not found|sign in/i.test(mintError);
}

export type ConsoleClient = { send(data: Uint8Array): void; resize(cols: number, rows: number): void; close(): void };

export function connectConsole(opts: {
  /** Mints a ticket (`console.ticket`). */
  mint: () => Promise<{ ticket: string; path: string }>;
  /** Opens a WebSocket to this path-and-query on the hub. */
  open: (pathAndQuery: string) => SocketLike;
  onStatus: (status: ConsoleStatus) => void;
  /** A (re)attach: the terminal should be reset; the history follows as data. */
  onAttached: (frame: Extract<ControlFrame, { t: 'attached' }>) => void;
  onData: (bytes: Uint8Array) => void;
  maxAttempts?: number;
  backoffMs?: (attempt: number) => number;
}): ConsoleClient {
  const maxAttempts = opts.maxAttempts ?? 8;
  const backoff = opts.backoffMs ?? ((n) => Math.min(10_000, 500 * 2 ** n));
  let stopped = false;
  let attempt = 0;
  let ws: SocketLike | undefined;
  let retry: ReturnType<typeof setTimeout> | undefined;
  let status: ConsoleStatus = { kind: 'connecting' };
  const set = (next: ConsoleStatus) => {
    status = next;
    opts.onStatus(next);
  };

  const connect = async () => {
    set({ ...status, kind: attempt === 0 ? 'connecting' : 'reconnecting' });
    let minted;
    try {
      minted = await opts.mint();
    } catch (err) {
      // The hub itself may be restarting: that is worth another try, a refusal is not.
      const message = (err as Error).message;
      if (stopped) return;
      if (isRefusal(message) || attempt >= maxAttempts) return set({ kind: 'ended', message });
      return again(message);
    }
    if (stopped) return;
    const socket = opts.open(`${minted.path}?${TICKET_PARAM}=${minted.ticket}`);
    socket.binaryType = 'arraybuffer';
    ws = socket;
    let reason = '';
    socket.onmessage = (event) => {
      const data = event.data;
      if (data instanceof ArrayBuffer) return opts.onData(new Uint8Array(data));
      if (ArrayBuffer.isView(data)) return opts.onData(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
      const frame = parseControl(String(data));
      if (frame?.t === 'attached') {
        opts.onAttached(frame);
        set({ kind: 'connecting', simulated: frame.simulated });
      } else if (frame?.t === 'live') {
        attempt = 0;
        set({ ...status, kind: 'live', message: undefined });
      } else if (frame?.t === 'close') reason = frame.reason;
    };
    socket.onclose = (event) => {
      if (stopped || ws !== socket) return;
      const why = reason || event.reason || 'the connection was lost';
      if (FINAL_CLOSES.has(event.code) || attempt >= maxAttempts) return set({ kind: 'ended', message: why });
      again(why);
    };
  };
  const again = (why: string) => {
    attempt++;
    set({ ...status, kind: 'reconnecting', message: why });
    retry = setTimeout(() => void connect(), backoff(attempt));
  };
  void connect();

  return {
    send(data) {
      if (ws?.readyState === OPEN) ws.send(data);
    },
    resize(cols, rows) {
      if (ws?.readyState === OPEN) ws.send(JSON.stringify({ t: 'resize', cols, rows }));
    },
    close() {
      stopped = true;
      clearTimeout(retry);
      ws?.close(CLOSE.normal);
    },
  };
}
