// The spoke's console WebSocket, /console/<capsul id> (serial) and /console/<capsul id>/vnc (graphical) on its
// HTTPS port: only the hub, with this spoke's
// HUB_TOKEN (the same check as tRPC's, before anything is attached); the id must match the strict pattern.
// Frames: src/contract/console.ts. Binary in = keystrokes (bounded, rate-limited); text in = control frames.
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import { CLOSE, MAX_DATA_FRAME, MAX_FRAME, parseControl, SPOKE_CONSOLE_PREFIX, SPOKE_GRAPHICS_SUFFIX, type ControlFrame } from '~/contract/console';
import { CAPSUL_ID_PATTERN } from '~/contract/ids';
import type { Logger } from '~/lib/log';
import { bearerToken, tokenMatches } from '~/lib/tokens';
import { asBuffer, ByteBudget, closeWith, refuseUpgrade } from '~/lib/ws-upgrade';
import { HypervisorError, type GraphicsPort, type Hypervisor } from '../hypervisor/types';
import { ConsoleAttachments } from './attachments';

/** A viewer (the hub's relay) that has this much unsent is too slow: it is closed rather than let it grow. */
const MAX_VIEWER_BACKLOG = 1024 * 1024;
/** Keystrokes: a person types a few bytes a second, a paste is a burst. A flood is closed. */
const INPUT_PER_SECOND = 64 * 1024;
const INPUT_BURST = 256 * 1024;
/** The graphical console's input: key and pointer events (a few bytes each, many while the mouse moves). */
const GRAPHICS_INPUT_PER_SECOND = 256 * 1024;
const GRAPHICS_INPUT_BURST = 1024 * 1024;

export function consoleEndpoint(hypervisor: Hypervisor, hubToken: string, log: Logger) {
  const attachments = new ConsoleAttachments(hypervisor, log);
  const wss = new WebSocketServer({ noServer: true, maxPayload: MAX_FRAME, perMessageDeflate: false });

  const upgrade = (req: IncomingMessage, socket: Duplex, head: Buffer): void => {
    const pathname = (req.url ?? '').split('?')[0]!;
    if (!pathname.startsWith(SPOKE_CONSOLE_PREFIX)) return refuseUpgrade(socket, 404, 'not found');
    const token = bearerToken(req.headers.authorization);
    if (!token || !tokenMatches(token, hubToken)) return refuseUpgrade(socket, 401, 'missing or wrong hub token');
    let id = pathname.slice(SPOKE_CONSOLE_PREFIX.length);
    const graphics = id.endsWith(SPOKE_GRAPHICS_SUFFIX);
    if (graphics) id = id.slice(0, -SPOKE_GRAPHICS_SUFFIX.length);
    if (!CAPSUL_ID_PATTERN.test(id)) return refuseUpgrade(socket, 400, 'a capsul id is "capsul-" and 10 lower-case letters or digits');
    wss.handleUpgrade(req, socket, head, (ws) => void (graphics ? serveGraphics(ws, id) : serve(ws, id)));
  };

  /**
   * The graphical console: one VNC connection per viewer (QEMU's server takes several), relayed as it is.
   * Bounded like the serial line: frames ≤ MAX_DATA_FRAME, the input budget (pointer moves are small and
   * many), and a viewer that does not read pauses the VNC socket rather than let it grow.
   */
  const serveGraphics = async (ws: WebSocket, id: string): Promise<void> => {
    const viewerLog = log.child({ capsulId: id, console: 'vnc' });
    const budget = new ByteBudget(GRAPHICS_INPUT_PER_SECOND, GRAPHICS_INPUT_BURST);
    const early: Buffer[] = [];
    let port: GraphicsPort | undefined;
    let paused: NodeJS.Timeout | undefined;
    ws.on('message', (data, isBinary) => {
      const buf = asBuffer(data);
      if (!isBinary) {
        const frame = parseControl(buf.toString('utf8'));
        if (!frame) return closeWith(ws, CLOSE.protocol, 'not a console control frame');
        if (frame.t === 'close') return ws.close(CLOSE.normal, 'closed by the viewer');
        if (frame.t !== 'resize') return closeWith(ws, CLOSE.protocol, `unexpected ${frame.t} frame`);
        return;
      }
      if (!budget.take(buf.length)) return closeWith(ws, CLOSE.tooFast, 'input flood: more than the console takes');
      if (port) port.write(buf);
      else if (early.length < 64) early.push(buf);
    });
    ws.on('close', () => {
      clearInterval(paused);
      port?.close();
    });
    ws.on('error', (err) => viewerLog.warn('graphical console viewer socket failed', { err }));
    try {
      const opened = await hypervisor.openGraphics(id);
      if (ws.readyState !== ws.OPEN) return opened.close();
      port = opened;
      ws.send(JSON.stringify({ t: 'attached', capsulId: id, simulated: false, historyBytes: 0, offset: 0 } satisfies ControlFrame));
      ws.send(JSON.stringify({ t: 'live' } satisfies ControlFrame));
      opened.onEnd((reason) => closeWith(ws, CLOSE.gone, reason));
      opened.onData((data) => {
        if (ws.readyState !== ws.OPEN) return;
        for (let at = 0; at < data.length; at += MAX_DATA_FRAME) ws.send(data.subarray(at, at + MAX_DATA_FRAME), { binary: true });
        if (ws.bufferedAmount > MAX_VIEWER_BACKLOG && !paused) {
          opened.pause();
          paused = setInterval(() => {
            if (ws.readyState !== ws.OPEN || ws.bufferedAmount < MAX_VIEWER_BACKLOG / 4) {
              clearInterval(paused);
              paused = undefined;
              opened.resume();
            }
          }, 20);
        }
      });
      for (const buf of early.splice(0)) opened.write(buf);
      viewerLog.info('graphical console viewer attached');
    } catch (err) {
      if (err instanceof HypervisorError && err.kind === 'not_found') return closeWith(ws, CLOSE.notFound, `no capsul ${id} on this host`);
      if (err instanceof HypervisorError && err.kind === 'unsupported') return closeWith(ws, CLOSE.unsupported, err.message);
      if (err instanceof HypervisorError) return closeWith(ws, CLOSE.gone, err.message);
      viewerLog.error('graphical console attach failed', { err });
      closeWith(ws, CLOSE.gone, 'the graphical console could not be attached');
    }
  };

  const serve = async (ws: WebSocket, id: string): Promise<void> => {
    const viewerLog = log.child({ capsulId: id });
    let leave = () => {};
    let write: (data: Buffer) => void = () => {};
    const budget = new ByteBudget(INPUT_PER_SECOND, INPUT_BURST);
    let ready = false;
    const early: Buffer[] = [];
    ws.on('message', (data, isBinary) => {
      const buf = asBuffer(data);
      if (!isBinary) {
        const frame = parseControl(buf.toString('utf8'));
        if (!frame) return closeWith(ws, CLOSE.protocol, 'not a console control frame');
        return control(frame);
      }
      if (buf.length > MAX_DATA_FRAME) return closeWith(ws, CLOSE.protocol, 'data frame too large');
      if (!budget.take(buf.length)) return closeWith(ws, CLOSE.tooFast, 'input flood: more than the console takes');
      if (ready) write(buf);
      else if (early.length < 64) early.push(buf);
    });
    const control = (frame: ControlFrame) => {
      if (frame.t === 'close') ws.close(CLOSE.normal, 'closed by the viewer');
      else if (frame.t !== 'resize') closeWith(ws, CLOSE.protocol, `unexpected ${frame.t} frame`);
      // resize: a serial line has no size to set; accepted and ignored.
    };
    ws.on('close', () => leave());
    ws.on('error', (err) => viewerLog.warn('console viewer socket failed', { err }));

    // Live bytes that come before the history is out wait here (joining and sending the history happen in one
    // step today, but the order must not depend on it).
    const waiting: Buffer[] = [];
    const send = (data: Buffer) => {
      if (ws.readyState !== ws.OPEN) return;
      if (!ready) return void waiting.push(data);
      if (ws.bufferedAmount > MAX_VIEWER_BACKLOG) return closeWith(ws, CLOSE.tooFast, 'the viewer did not keep up with the console');
      ws.send(data, { binary: true });
    };
    try {
      // Join first: the attachment hands back the history up to this viewer's first live byte (attachments.ts).
      const joined = await attachments.join(id, { send, backlog: () => ws.bufferedAmount, end: (reason) => closeWith(ws, CLOSE.gone, reason) });
      leave = joined.leave;
      write = joined.write;
      if (ws.readyState !== ws.OPEN) return leave();
      const history = joined.history;
      ws.send(
        JSON.stringify({ t: 'attached', capsulId: id, simulated: joined.simulated, historyBytes: history.length, offset: joined.offset } satisfies ControlFrame),
      );
      for (let at = 0; at < history.length; at += MAX_DATA_FRAME) ws.send(history.subarray(at, at + MAX_DATA_FRAME), { binary: true });
      ws.send(JSON.stringify({ t: 'live' } satisfies ControlFrame));
      ready = true;
      for (const data of waiting.splice(0)) send(data);
      for (const buf of early.splice(0)) write(buf);
      viewerLog.info('console viewer attached', { simulated: joined.simulated });
    } catch (err) {
      if (err instanceof HypervisorError && err.kind === 'not_found') return closeWith(ws, CLOSE.notFound, `no capsul ${id} on this host`);
      if (err instanceof HypervisorError) return closeWith(ws, CLOSE.gone, err.message);
      viewerLog.error('console attach failed', { err });
      closeWith(ws, CLOSE.gone, 'the console could not be attached');
    }
  };

  return {
    upgrade,
    attachments,
    async close(reason: string) {
      await attachments.closeAll(reason);
      for (const ws of wss.clients) closeWith(ws, CLOSE.going, reason);
    },
  };
}
