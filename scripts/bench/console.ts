// The serial console's cost, in `npm run bench`: a keystroke's echo round trip through the hub (browser ⇄ hub
// ⇄ spoke) against the same round trip straight to the spoke's WebSocket, interleaved keystroke by keystroke
// on one attachment; and the console's throughput (`yes | head -c 10M` on the fake driver's simulated line)
// through the hub against direct, one path at a time, alternating. Fake driver: what is measured is the relay,
// not a guest's UART (a real one carries ~380 KB/s, VIRT.md).
import { WebSocket } from 'ws';
import { HUB_CONSOLE_PATH, parseControl, TICKET_PARAM } from '~/contract/console';
import type { Session } from '../../test/support/accounts';
import { allOnline, startHubProcess, startSpokeProcess, until, type Hub, type SpokeHandle } from '../../test/support/processes';
import type { TestTls } from '../../test/support/tls';
import { signIn } from '../../test/support/accounts';
import { readFileSync } from 'node:fs';
import { median, p99, type Figure } from './stats';

type Tap = {
  ws: WebSocket;
  /** Resolves once a chunk passes `test` (given the chunk and the last bytes seen, the chunk included). */
  waitFor(test: (chunk: Buffer, tail: string) => boolean): Promise<void>;
  received(): number;
  close(): Promise<void>;
};

/** A console WebSocket, resolved once it is live (history received). */
function tap(url: string, headers: Record<string, string>, ca: Buffer): Promise<Tap> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { ca, headers, perMessageDeflate: false });
    let watchers: { test: (chunk: Buffer, tail: string) => boolean; done: () => void }[] = [];
    let tail = '';
    let bytes = 0;
    let live = false;
    const closed = new Promise<void>((r) => ws.on('close', () => r()));
    ws.on('message', (data, isBinary) => {
      const buf = data as Buffer;
      if (!isBinary) {
        const frame = parseControl(buf.toString());
        if (frame?.t === 'live' && !live) {
          live = true;
          resolve(t);
        }
        return;
      }
      if (!live) return; // the history
      bytes += buf.length;
      tail = (tail + buf.subarray(Math.max(0, buf.length - 64)).toString('latin1')).slice(-64);
      watchers = watchers.filter((w) => (w.test(buf, tail) ? (w.done(), false) : true));
    });
    ws.on('error', reject);
    ws.on('close', (code, reason) => !live && reject(new Error(`console closed before it was live: ${code} ${reason}`)));
    const t: Tap = {
      ws,
      waitFor: (test) => new Promise<void>((done) => watchers.push({ test, done })),
      received: () => bytes,
      close: async () => {
        ws.close();
        await closed;
      },
    };
  });
}

export type ConsoleBench = { hub: Hub; spoke: SpokeHandle; session: Session; capsulId: string; ca: Buffer };

export async function consoleFigures(b: ConsoleBench, n: { keystrokes: number; bytes: number; rounds: number }): Promise<{ figures: Figure[]; notes: string[] }> {
  const viaHub = async () =>
    tap(`${b.hub.url.replace('https', 'wss')}${HUB_CONSOLE_PATH}?${TICKET_PARAM}=${(await b.session.client.console.ticket.mutate({ id: b.capsulId })).ticket}`, { cookie: b.session.cookie, origin: b.hub.url }, b.ca);
  const direct = () => tap(`${b.spoke.url.replace('https', 'wss')}/console/${b.capsulId}`, { authorization: `Bearer ${b.spoke.hubToken}` }, b.ca);
  const prompt = (_c: Buffer, tail: string) => tail.endsWith(':~# ');

  // Keystrokes: both connected to one attachment; each letter echoed is awaited on the socket that typed it.
  const hubTap = await viaHub();
  const spokeTap = await direct();
  const through: number[] = [];
  const straight: number[] = [];
  const rtt = async (t: Tap, ch: string) => {
    const echoed = t.waitFor((c) => c.includes(ch));
    const t0 = performance.now();
    t.ws.send(Buffer.from(ch), { binary: true });
    await echoed;
    return performance.now() - t0;
  };
  const warmup = 20;
  for (let i = 0; i < warmup + n.keystrokes; i++) {
    if (i % 200 === 199) {
      // The simulated line takes 1024 characters: start a new one (Ctrl-C), both sockets seeing the prompt.
      const both = Promise.all([hubTap.waitFor(prompt), spokeTap.waitFor(prompt)]);
      hubTap.ws.send(Buffer.from('\x03'), { binary: true });
      await both;
    }
    const letter = String.fromCharCode(97 + (i % 26));
    const a = await rtt(hubTap, letter);
    const c = await rtt(spokeTap, letter.toUpperCase());
    if (i >= warmup) {
      through.push(a);
      straight.push(c);
    }
  }
  hubTap.ws.send(Buffer.from('\x03'), { binary: true });
  await Promise.all([hubTap.close(), spokeTap.close()]);

  // Throughput: one path at a time, alternating, each on a fresh connection.
  const bulk = async (open: () => Promise<Tap>) => {
    const t = await open();
    const done = t.waitFor((_c, tail) => t.received() >= n.bytes && tail.endsWith(':~# '));
    const t0 = performance.now();
    t.ws.send(Buffer.from(`yes | head -c ${n.bytes}\r`), { binary: true });
    await done;
    const ms = performance.now() - t0;
    await t.close();
    return ms;
  };
  const bulkHub: number[] = [];
  const bulkDirect: number[] = [];
  for (let i = 0; i < n.rounds; i++) {
    bulkHub.push(await bulk(viaHub));
    bulkDirect.push(await bulk(direct));
  }
  const mib = n.bytes / 1024 / 1024;
  const rate = (ms: number[]) => (mib / (median(ms) / 1000)).toFixed(1);
  return {
    figures: [
      { name: 'console keystroke echo, through the hub (fake driver)', floorName: 'the same keystroke straight to the spoke’s WebSocket', unit: 'ms', samples: through, floor: straight, target: { median: 1.3 } },
      { name: `console throughput: ${mib} MiB of \`yes\` through the hub (fake driver)`, floorName: 'the same straight to the spoke’s WebSocket', unit: 'ms', samples: bulkHub, floor: bulkDirect },
    ],
    notes: [
      `Console: keystroke echo median ${median(through).toFixed(2)} ms through the hub, ${median(straight).toFixed(2)} ms direct (p99 ${p99(through).toFixed(2)} / ${p99(straight).toFixed(2)} ms), ${n.keystrokes} keystrokes each, interleaved on one attachment; ${mib} MiB of \`yes\` at ${rate(bulkHub)} MiB/s through the hub, ${rate(bulkDirect)} MiB/s direct (median of ${n.rounds}).`,
    ],
  };
}

/** A hub and one fake spoke of their own, one capsul, then the figures. */
export async function benchConsole(databaseUrl: string, tls: TestTls, n: { keystrokes: number; bytes: number; rounds: number }) {
  const hub = await startHubProcess({ databaseUrl, tls, env: { RECONCILE_PERIOD_MS: '3600000' } });
  let spoke: SpokeHandle | undefined;
  try {
    spoke = await startSpokeProcess({ hub, hostId: 'console-1', tls, env: { FAKE_CREATE_MS: '50' } });
    await allOnline(hub, ['console-1']);
    const session = await signIn(hub, tls, 'console@example.com');
    const { capsulId } = await session.client.capsul.create.mutate({ image: 'debian-12', size: 'nano' });
    await until(`${capsulId} running`, async () => (await session.client.capsul.byId.query({ id: capsulId })).state === 'running');
    return await consoleFigures({ hub, spoke, session, capsulId, ca: readFileSync(tls.caFile) }, n);
  } finally {
    await spoke?.proc.stop();
    await hub.proc.stop();
  }
}
