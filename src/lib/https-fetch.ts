import { Agent, fetch as undiciFetch } from 'undici';

export type FetchLike = typeof globalThis.fetch;

/**
 * A fetch for calls between hub and spokes: trusts the configured CA (or the system store when none is
 * given), keeps connections alive and reuses them across calls.
 */
export function httpsFetch(opts: { ca?: Buffer; cert?: Buffer; key?: Buffer }): FetchLike {
  const dispatcher = new Agent({
    connect: { ca: opts.ca, cert: opts.cert, key: opts.key },
    keepAliveTimeout: 30_000,
    connections: 64,
  });
  return ((input: string | URL, init?: RequestInit) =>
    undiciFetch(input, { ...(init as object), dispatcher })) as unknown as FetchLike;
}
