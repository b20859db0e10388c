// Small pieces both WebSocket endpoints (the hub's /console, the spoke's /console/<id>) share.
import type { Duplex } from 'node:stream';
import type { WebSocket } from 'ws';

const STATUS_TEXT: Record<number, string> = { 400: 'Bad Request', 401: 'Unauthorized', 403: 'Forbidden', 404: 'Not Found', 409: 'Conflict', 503: 'Service Unavailable' };

/** Refuses an upgrade with a plain HTTP answer (nothing was accepted, nothing attached). */
export function refuseUpgrade(socket: Duplex, status: number, message: string): void {
  const body = `${message}\n`;
  socket.end(
    `HTTP/1.1 ${status} ${STATUS_TEXT[status] ?? 'Error'}\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
  );
}

/** A WebSocket close reason is at most 123 bytes. */
export function closeReason(reason: string): string {
  let r = reason;
  while (Buffer.byteLength(r) > 123) r = r.slice(0, -1);
  return r;
}

/** Sends a control frame saying why, then closes. */
export function closeWith(ws: WebSocket, code: number, reason: string): void {
  if (ws.readyState !== ws.OPEN) {
    if (ws.readyState === ws.CONNECTING) ws.terminate();
    return;
  }
  const r = closeReason(reason);
  ws.send(JSON.stringify({ t: 'close', reason: r.slice(0, 120) }));
  ws.close(code, r);
  // A peer that never answers the close is cut after a while.
  setTimeout(() => ws.terminate(), 5000).unref();
}

/**
 * A token bucket: `take(n)` is false once more than `burst` bytes came faster than `perSecond` allows (a flood).
 */
export class ByteBudget {
  private tokens: number;
  private last = Date.now();

  constructor(
    private readonly perSecond: number,
    private readonly burst: number,
  ) {
    this.tokens = burst;
  }

  take(n: number): boolean {
    const now = Date.now();
    this.tokens = Math.min(this.burst, this.tokens + ((now - this.last) / 1000) * this.perSecond);
    this.last = now;
    this.tokens -= n;
    return this.tokens >= 0;
  }
}

/** A message's bytes, whatever form ws handed them in. */
export function asBuffer(data: Buffer | ArrayBuffer | Buffer[]): Buffer {
  if (Array.isArray(data)) return Buffer.concat(data);
  return Buffer.isBuffer(data) ? data : Buffer.from(data);
}
