// The console's live updates as a browser receives them: `capsul.watch` is a tRPC subscription over
// server-sent events (GET /api/trpc/capsul.watch with the session cookie, a text/event-stream body). Each
// data event is one capsul, superjson-encoded; tRPC also sends `connected` first, and may send `ping`.
import superjson from 'superjson';
import type { Session } from './accounts';
import type { Hub } from './processes';

export type WatchedCapsul = { id: string; state: string; ownerId: string };

export class CapsulWatch {
  readonly received: WatchedCapsul[] = [];
  /** Errors the server sent on the stream (tRPC's `serialized-error` events). */
  readonly errors: string[] = [];
  private readonly abort = new AbortController();
  private connectedNow!: () => void;
  /** Resolves once tRPC has sent `connected`: changes from then on are this subscriber's. */
  readonly connected = new Promise<void>((resolve) => (this.connectedNow = resolve));
  private closed?: Promise<void>;

  private constructor(readonly label: string) {}

  static async open(hub: Hub, session: Session): Promise<CapsulWatch> {
    const watch = new CapsulWatch(`${session.email} through ${hub.url}`);
    const res = await session.fetch(`${hub.url}/api/trpc/capsul.watch`, {
      headers: { cookie: session.cookie, accept: 'text/event-stream' },
      signal: watch.abort.signal,
    });
    if (res.status !== 200 || !res.headers.get('content-type')?.startsWith('text/event-stream') || !res.body) {
      throw new Error(`capsul.watch for ${watch.label}: ${res.status} ${res.headers.get('content-type')} ${await res.text()}`);
    }
    watch.closed = watch.read(res.body);
    return watch;
  }

  /** The states one capsul was seen in, in order, each once per change of state. */
  statesOf(id: string): string[] {
    const states: string[] = [];
    for (const c of this.received) if (c.id === id && states.at(-1) !== c.state) states.push(c.state);
    return states;
  }

  async close(): Promise<void> {
    this.abort.abort();
    await this.closed;
  }

  private async read(body: ReadableStream<Uint8Array>): Promise<void> {
    const decoder = new TextDecoder();
    let buffer = '';
    const reader = body.getReader();
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) return;
        buffer += decoder.decode(value, { stream: true });
        let end: number;
        while ((end = buffer.indexOf('\n\n')) >= 0) {
          this.onEvent(buffer.slice(0, end));
          buffer = buffer.slice(end + 2);
        }
      }
    } catch (err) {
      if (!this.abort.signal.aborted) throw err;
    }
  }

  private onEvent(block: string): void {
    let event = 'message';
    const data: string[] = [];
    for (const line of block.split('\n')) {
      if (line.startsWith('event:')) event = line.slice(6).trim();
      else if (line.startsWith('data:')) data.push(line.slice(5).replace(/^ /, ''));
    }
    if (event === 'connected') this.connectedNow();
    if (event === 'serialized-error') this.errors.push(data.join('\n'));
    if (event !== 'message' || data.length === 0) return;
    this.received.push(superjson.deserialize(JSON.parse(data.join('\n'))) as WatchedCapsul);
  }
}
