import type { IncomingMessage } from 'node:http';

/**
 * The hub's own HTTPS server stamps every request with the client's address in this header (removing any
 * the client sent), so route handlers can rate-limit by it. Behind a reverse proxy (TRUST_PROXY), the last
 * X-Forwarded-For hop, which the proxy added, is the client.
 */
export const CLIENT_ADDRESS_HEADER = 'x-capsul-client-address';

export function stampClientAddress(req: IncomingMessage, trustProxy: boolean): void {
  delete req.headers[CLIENT_ADDRESS_HEADER];
  const forwarded = trustProxy ? String(req.headers['x-forwarded-for'] ?? '').split(',').pop()?.trim() : undefined;
  req.headers[CLIENT_ADDRESS_HEADER] = forwarded || req.socket.remoteAddress || 'unknown';
}

/** 127.0.0.0/8 and ::1, also as IPv4-mapped IPv6 (a dual-stack socket reports ::ffff:127.0.0.1). */
export function isLoopbackAddress(address: string | null | undefined): boolean {
  const a = (address ?? '').replace(/^::ffff:/i, '');
  return a === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(a);
}
