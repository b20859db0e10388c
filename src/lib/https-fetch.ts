import { Agent, fetch as undiciFetch } from 'undici';

export type FetchLike = typeof globalThis.fetch;

/** Connections a client keeps to one peer unless told otherwise. */
export const CONNECTIONS_PER_PEER = 8;

/**
 * A fetch for calls between hub and spokes: trusts the configured CA (or the system store when none is
 * given), keeps connections alive and reuses them across calls.
 */
export function httpsFetch(opts: { ca?: Buffer; cert?: Buffer; key?: Buffer; connectionsPerPeer?: number }): FetchLike {
  const dispatcher = new Agent({
    connect: { ca: opts.ca, cert: opts.cert, key: opts.key },
    keepAliveTimeout: 30_000,
    // A bounded pool per peer: calls queue on warm connections instead of opening hundreds at once in a
    // burst (each a TLS handshake, and a full accept queue on the peer drops the rest).
    connections: opts.connectionsPerPeer ?? CONNECTIONS_PER_PEER,
  });
  return ((input: string | URL, init?: RequestInit) =>
    undiciFetch(input, { ...(init as object), dispatcher })) as unknown as FetchLike;
}
