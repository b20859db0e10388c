// The browser's console WebSocket, /console?ticket=… on the hub's HTTPS port, relayed to the capsul's spoke
// (/console/<id>, or /console/<id>/vnc for a graphical-console ticket, dialled with that host's own hub token;
// the graphical console's browser leg carries RFB bytes only, for noVNC). Accepted only with a matching Origin (PUBLIC_URL),
// a live session (the cookie) and a ticket that session minted, redeemed once (tickets.ts); the admin token
// (CLI) instead of a cookie for a ticket the admin token minted. Frames are validated at this end too
// (src/contract/console.ts); buffers are bounded both ways; an idle session closes after CONSOLE_IDLE_MS;
// a session signed out (or signed out everywhere, on any hub) is closed at once (session-events.ts), with a
// check every 15 s behind it. Its end is recorded.
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocket, WebSocketServer, type RawData } from 'ws';
import { CLOSE, HUB_CONSOLE_PATH, MAX_DATA_FRAME, MAX_FRAME, parseControl, SPOKE_CONSOLE_PREFIX, SPOKE_GRAPHICS_SUFFIX, TICKET_PARAM } from '~/contract/console';
import { env } from '~/env';
import type { Logger } from '~/lib/log';
import type { TlsMaterial } from '~/lib/tls';
import { bearerToken, tokenMatches } from '~/lib/tokens';
import { asBuffer, ByteBudget, closeReason, closeWith, refuseUpgrade } from '~/lib/ws-upgrade';
import { readCookie, SESSION_COOKIE } from '../auth/cookies';
import { onSessionsEnded } from '../auth/session-events';
import { findSession } from '../auth/sessions';
import { CLIENT_ADDRESS_HEADER } from '../client-address';
import type { Db } from '../db/client';
import { track } from '../operations/record';
import { isPersonInput } from './rfb-input';
import { finishConsoleSession, redeemTicket, SESSION_HEARTBEAT_MS, touchConsoleSession, type Redeemed } from './tickets';

/** Unsent bytes to one side above which the other side is paused (and below which it resumes). */
const HIGH_WATER = 1024 * 1024;
const LOW_WATER = 256 * 1024;
/** Frames from the browser kept while the spoke's socket is still opening. */
const EARLY_FRAMES = 64;
const INPUT_PER_SECOND = 64 * 1024;
const INPUT_BURST = 256 * 1024;

type Settings = {
  db: () => Db;
  tls: TlsMaterial;
  log: Logger;
  /** The hub token to present to a host (current, and during a rotation the previous one). */
  hubTokens: (hostId: string) => Promise<{ current: string; previous?: string }>;
};

function sameOrigin(origin: string | undefined, publicUrl: string): boolean {
  if (!origin) return false;
  try {
    return new URL(origin).origin === new URL(publicUrl).origin;
  } catch {
    return false;
  }
}

/** A close with its code and reason, and no `close` control frame before it. */
function closeQuietly(ws: WebSocket, code: number, reason: string): void {
  if (ws.readyState === WebSocket.CONNECTING) return ws.terminate();
  if (ws.readyState !== WebSocket.OPEN) return;
  ws.close(code, closeReason(reason));
  setTimeout(() => ws.terminate(), 5000).unref();
}

export function consoleRelay(settings: Settings) {
  const wss = new WebSocketServer({ noServer: true, maxPayload: MAX_FRAME, perMessageDeflate: false });
  const live = new Set<{ close: (code: number, reason: string) => void; accountId?: string; recheck?: () => void }>();
  let stopping = false;
  // A sign-out (or sign out everywhere) on any hub: the account's consoles check their session now.
  const stopListening = onSessionsEnded((accountId) => {
    for (const session of live) if (session.accountId === accountId) session.recheck?.();
  });

  const upgrade = (req: IncomingMessage, socket: Duplex, head: Buffer): void => {
    void accept(req, socket, head).catch((err) => {
      settings.log.error('console upgrade failed', { err });
      if (!socket.destroyed) refuseUpgrade(socket, 503, 'the console is not available right now');
    });
  };

  const accept = async (req: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> => {
    const url = new URL(req.url ?? '/', 'https://hub.invalid');
    if (url.pathname !== HUB_CONSOLE_PATH) return refuseUpgrade(socket, 404, 'not found');
    if (stopping) return refuseUpgrade(socket, 503, 'the hub is restarting; try again in a few seconds');
    const e = env();
    const db = settings.db();
    const from = String(req.headers[CLIENT_ADDRESS_HEADER] ?? req.socket.remoteAddress ?? 'unknown');
    // The admin token (the CLI, not a browser: it sends no Origin) or a browser session from our own origin.
    const bearer = bearerToken(req.headers.authorization);
    let sessionToken: string | undefined;
    let accountId: string | undefined;
    if (bearer) {
      if (!e.HUB_ADMIN_TOKEN || !tokenMatches(bearer, e.HUB_ADMIN_TOKEN)) return refuseUpgrade(socket, 401, 'missing or wrong credentials');
    } else {
      if (!sameOrigin(req.headers.origin, e.PUBLIC_URL)) {
        return refuseUpgrade(socket, 403, `refused: the console was not opened from this site (${new URL(e.PUBLIC_URL).origin}, its PUBLIC_URL)`);
      }
      sessionToken = readCookie(req.headers.cookie ?? null, SESSION_COOKIE);
      const session = sessionToken ? await findSession(db, sessionToken, e.SESSION_DAYS) : null;
      if (!session) return refuseUpgrade(socket, 401, 'sign in first');
      accountId = session.accountId;
    }
    let redeemed: Redeemed;
    try {
      redeemed = await redeemTicket(db, url.searchParams.get(TICKET_PARAM) ?? '', sessionToken);
    } catch (err) {
      return refuseUpgrade(socket, 401, (err as Error).message);
    }
    const capsul = await db.capsul.findFirst({
      where: { id: redeemed.capsulId, deletedAt: null },
      select: { id: true, host: { select: { id: true, httpsUrl: true, removedAt: true } } },
    });
    const started = Date.now();
    const end = { hostId: capsul?.host?.id ?? '', from, bytesIn: 0, bytesOut: 0, attached: false };
    if (!capsul?.host || capsul.host.removedAt) {
      if (end.hostId) track(finishConsoleSession(db, redeemed.operationId, { ...end, ms: 0, reason: 'the capsul is gone or on no host' }));
      return refuseUpgrade(socket, 404, `capsul ${redeemed.capsulId} is gone or on no host`);
    }
    const host = capsul.host;
    wss.handleUpgrade(req, socket, head, (browser) => relay(browser, { db, host, redeemed, sessionToken, accountId, started, end }));
  };

  const relay = (
    browser: WebSocket,
    s: {
      db: Db;
      host: { id: string; httpsUrl: string };
      redeemed: Redeemed;
      sessionToken: string | undefined;
      accountId: string | undefined;
      started: number;
      end: { hostId: string; from: string; bytesIn: number; bytesOut: number; attached: boolean };
    },
  ) => {
    const log = settings.log.child({ capsulId: s.redeemed.capsulId, operationId: s.redeemed.operationId, hostId: s.host.id });
    const e = env();
    let finished = false;
    let spoke: WebSocket | undefined;
    const early: { data: Buffer; binary: boolean }[] = [];
    const vnc = s.redeemed.kind === 'vnc';
    const budget = vnc ? new ByteBudget(4 * INPUT_PER_SECOND, 4 * INPUT_BURST) : new ByteBudget(INPUT_PER_SECOND, INPUT_BURST);
    const timers: NodeJS.Timeout[] = [];

    const finish = (code: number, reason: string) => {
      if (finished) return;
      finished = true;
      live.delete(entry);
      clearTimeout(idle);
      for (const t of timers) clearTimeout(t); // clears intervals too (one id space in Node)
      // noVNC reads RFB only: the graphical console's close carries its reason in the close frame alone.
      if (vnc) closeQuietly(browser, code, reason);
      else closeWith(browser, code, reason);
      if (spoke) closeWith(spoke, CLOSE.normal, 'the viewer left');
      const ms = Date.now() - s.started;
      log.info('console session ended', { actor: s.redeemed.actor, from: s.end.from, ms, reason, bytesIn: s.end.bytesIn, bytesOut: s.end.bytesOut });
      track(
        finishConsoleSession(s.db, s.redeemed.operationId, { ...s.end, ms, reason }).catch((err) =>
          log.error('could not record the end of a console session', { err }),
        ),
      );
    };
    const entry: { close: (code: number, reason: string) => void; accountId?: string; recheck?: () => void } = {
      close: (code: number, reason: string) => finish(code, reason),
      accountId: s.accountId,
    };
    live.add(entry);

    // Idle: nobody typed (or, on the screen, moved the mouse) for CONSOLE_IDLE_MS.
    let idle: NodeJS.Timeout | undefined;
    const touch = () => {
      clearTimeout(idle);
      idle = setTimeout(() => finish(CLOSE.idle, `closed after ${Math.round(e.CONSOLE_IDLE_MS / 1000)} s without input`), e.CONSOLE_IDLE_MS);
    };
    touch();
    // Every SESSION_HEARTBEAT_MS: the operation is touched (the reaper leaves a live session alone), and the
    // cookie checked again in case a sign-out announcement was missed (another hub's, while the change feed
    // was reconnecting). A sign-out announced (session-events.ts) checks it at once.
    const token = s.sessionToken;
    if (token) {
      entry.recheck = () => {
        if (finished) return;
        findSession(s.db, token, e.SESSION_DAYS)
          .then((session) => session || finish(CLOSE.refused, 'signed out: the console closed'))
          .catch(() => {}); // a database blip does not end a console
      };
    }
    timers.push(
      setInterval(() => {
        entry.recheck?.();
        touchConsoleSession(s.db, s.redeemed.operationId).catch((err) => log.warn('console: could not touch the session', { err }));
      }, SESSION_HEARTBEAT_MS),
    );

    browser.on('message', (data: RawData, isBinary: boolean) => {
      const buf = asBuffer(data);
      if (!isBinary) {
        const frame = parseControl(buf.toString('utf8'));
        if (!frame) return finish(CLOSE.protocol, 'not a console control frame');
        if (frame.t === 'close') return finish(CLOSE.normal, 'closed by the viewer');
        if (frame.t !== 'resize') return finish(CLOSE.protocol, `a viewer does not send ${frame.t} frames`);
      } else {
        if (buf.length > MAX_DATA_FRAME) return finish(CLOSE.protocol, 'data frame too large');
        if (!budget.take(buf.length)) return finish(CLOSE.tooFast, 'input flood: more than the console takes');
        s.end.bytesIn += buf.length;
        if (!vnc || isPersonInput(buf)) touch();
      }
      if (spoke?.readyState === WebSocket.OPEN) spoke.send(buf, { binary: isBinary });
      else if (early.length < EARLY_FRAMES) early.push({ data: buf, binary: isBinary });
      else finish(CLOSE.tooFast, 'too much input before the console was attached');
    });
    browser.on('close', () => finish(CLOSE.normal, 'the viewer closed the console'));
    browser.on('error', (err) => log.warn('console browser socket failed', { err }));

    const dial = async (token: string, retryWith?: string) => {
      const url = `${s.host.httpsUrl.replace(/^http/, 'ws')}${SPOKE_CONSOLE_PREFIX}${s.redeemed.capsulId}${vnc ? SPOKE_GRAPHICS_SUFFIX : ''}`;
      const ws = new WebSocket(url, {
        ca: settings.tls.ca,
        cert: settings.tls.cert,
        key: settings.tls.key,
        headers: { authorization: `Bearer ${token}` },
        maxPayload: MAX_FRAME,
        perMessageDeflate: false,
        handshakeTimeout: e.SPOKE_CALL_TIMEOUT_MS,
      });
      spoke = ws;
      let spokeReason = '';
      ws.on('unexpected-response', (_req, res) => {
        res.resume();
        if (res.statusCode === 401 && retryWith && !finished) return void dial(retryWith);
        finish(CLOSE.gone, `host ${s.host.id} refused the console (HTTP ${res.statusCode})`);
      });
      ws.on('open', () => {
        for (const f of early.splice(0)) ws.send(f.data, { binary: f.binary });
      });
      ws.on('message', (data: RawData, isBinary: boolean) => {
        const buf = asBuffer(data);
        if (!isBinary) {
          const frame = parseControl(buf.toString('utf8'));
          if (!frame) return finish(CLOSE.gone, `host ${s.host.id} sent a frame that is not a console frame`);
          if (frame.t === 'attached') s.end.attached = true;
          // The spoke's close follows its reason: the close's code says which kind of end it was.
          if (frame.t === 'close') return void (spokeReason = frame.reason);
          if (vnc) return; // the browser's leg of the graphical console is plain RFB (noVNC)
        } else s.end.bytesOut += buf.length;
        if (browser.readyState !== WebSocket.OPEN) return;
        browser.send(buf, { binary: isBinary });
        // Back-pressure: a browser that does not read pauses the spoke's socket (TCP then holds the spoke).
        if (browser.bufferedAmount > HIGH_WATER && !ws.isPaused) {
          ws.pause();
          const resume = setInterval(() => {
            if (finished || browser.bufferedAmount < LOW_WATER) {
              clearInterval(resume);
              if (!finished) ws.resume();
            }
          }, 20);
          timers.push(resume);
        }
      });
      ws.on('close', (code, reason) => {
        // A console this capsul does not have (the fake driver's screen) is said as such; the rest: gone.
        const why = spokeReason || reason.toString() || `the console of host ${s.host.id} closed (${code})`;
        if (spoke === ws) finish(code === CLOSE.unsupported || code === CLOSE.notFound ? code : CLOSE.gone, why);
      });
      ws.on('error', (err) => {
        log.warn('console spoke socket failed', { err });
        if (spoke === ws && ws.readyState !== WebSocket.CONNECTING) finish(CLOSE.gone, `host ${s.host.id} could not be reached`);
      });
    };
    settings
      .hubTokens(s.host.id)
      .then((tokens) => dial(tokens.current, tokens.previous))
      .catch((err) => {
        log.error('console: no hub token for the host', { err });
        finish(CLOSE.gone, `host ${s.host.id} cannot be reached`);
      });
    log.info('console session started', { actor: s.redeemed.actor, from: s.end.from });
  };

  return {
    upgrade,
    /** Sessions open now (tests, metrics). */
    open: () => live.size,
    /** The hub is stopping: new consoles are refused, open ones closed (their ends recorded). */
    close(reason: string) {
      stopping = true;
      stopListening();
      for (const session of [...live]) session.close(CLOSE.going, reason);
    },
  };
}
