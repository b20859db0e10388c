// A hub that is told to stop (SIGTERM, `systemctl restart`) loses nothing it accepted. It stops in phases:
// - draining: new requests from browsers and the CLI are answered 503 (procedures by the tRPC middleware in
//   trpc.ts, so clients read an error they know; pages here); requests in flight finish, and spokes' calls
//   (claims, completions, heartbeats) are still served, since the creates in flight wait on those claims;
// - closing: once nothing from browsers or the CLI is in flight (or the grace is over), the port closes and
//   whatever still arrives is answered 503 (a spoke keeps its completion and delivers it to the next hub)
//   while the last calls finish.
// Live-update streams do not hold a stop up: they are ended when draining starts (browsers reconnect).
import type { IncomingMessage, ServerResponse } from 'node:http';

export type HubPhase = 'serving' | 'draining' | 'closing';

const SPOKE_CALLS = '/api/trpc/spoke.';
/** Stamped on a procedure call that arrived while the hub drains (any value a client sent is removed). */
export const REFUSED_HEADER = 'x-capsul-hub-stopping';
const STREAMS = '/api/trpc/capsul.watch';

/** What the hub's server has in flight, and the phases of its stop. */
/** How long the last connections must stay silent before the hub cuts them. */
const QUIET_MS = 250;

export class Drain {
  private phase: HubPhase = 'serving';
  private lastAdmitted = 0;
  private readonly fromPeople = new Set<ServerResponse>();
  private readonly fromSpokes = new Set<ServerResponse>();
  private readonly streams = new Set<ServerResponse>();

  /** A new connection: while the hub closes, it waits for one that is this fresh to send its request. */
  connected(): void {
    this.lastAdmitted = Date.now();
  }

  /** Tracks a request; true when the caller may go on and serve it, false when it was answered 503 here. */
  admit(req: IncomingMessage, res: ServerResponse): boolean {
    const url = req.url ?? '';
    const fromSpoke = url.startsWith(SPOKE_CALLS);
    const phase = this.phase;
    delete req.headers[REFUSED_HEADER];
    if (phase !== 'serving') res.setHeader('connection', 'close');
    this.lastAdmitted = Date.now();
    const refused = phase === 'closing' || (phase === 'draining' && !fromSpoke);
    if (refused && !url.startsWith('/api/trpc/')) {
      res.writeHead(503, { 'content-type': 'text/plain; charset=utf-8', 'retry-after': '5' }).end('Capsul is restarting; try again in a few seconds.\n');
      return false;
    }
    // A refused procedure is answered by the tRPC middleware, so its caller reads an error it knows (503).
    if (refused) req.headers[REFUSED_HEADER] = '1';
    const set = url.startsWith(STREAMS) ? this.streams : fromSpoke || phase === 'closing' ? this.fromSpokes : this.fromPeople;
    set.add(res);
    res.once('close', () => set.delete(res));
    return true;
  }

  /** Draining: ends the live-update streams, then waits up to `withinMs` for people's requests to finish. */
  async drain(withinMs: number): Promise<void> {
    this.phase = 'draining';
    for (const res of this.streams) res.destroy();
    // Answers still to come close their connections, so no client sends another request on one of them while
    // the hub closes it (the keep-alive race that would cut that request).
    for (const res of [...this.fromPeople, ...this.fromSpokes]) if (!res.headersSent) res.setHeader('connection', 'close');
    await settled(this.fromPeople, withinMs);
  }

  /**
   * Closing (the port is closed by then): refuses everything new, and waits up to `withinMs` for the spokes'
   * calls in flight and for the connections still open to go quiet (a request already on its way on one of
   * them is answered, not cut).
   */
  async close(withinMs: number): Promise<void> {
    this.phase = 'closing';
    const end = Date.now() + withinMs;
    while (Date.now() < end && (this.fromSpokes.size || Date.now() - this.lastAdmitted < QUIET_MS)) await new Promise((r) => setTimeout(r, 20));
  }

  /** How many requests are still in flight (logged at the end of a stop). */
  inFlight(): number {
    return this.fromPeople.size + this.fromSpokes.size;
  }
}

async function settled(requests: Set<ServerResponse>, withinMs: number): Promise<void> {
  const end = Date.now() + withinMs;
  while (requests.size && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
}
