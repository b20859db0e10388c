// The console's wire shapes, the same on both legs (browser ⇄ hub and hub ⇄ spoke, both WebSockets).
// The graphical console (VNC) uses the same two legs: binary frames are RFB bytes; the spoke sends it the same
// `attached`/`live` control frames, which the hub keeps to itself (the browser's leg is plain RFB, for noVNC).
// Binary frames carry terminal bytes, as they are, both ways (at most MAX_DATA_FRAME bytes each). Text frames
// carry one control message each, JSON, validated with `controlFrame` at every end; anything else closes the
// connection with a reason.
import { z } from 'zod';
import { capsulId } from './ids';

/** Largest binary frame (terminal bytes) either end accepts. */
export const MAX_DATA_FRAME = 16 * 1024;
/** Largest text frame (a control message). */
export const MAX_CONTROL_FRAME = 1024;
/** What a WebSocket accepts at all (`maxPayload`): a larger frame closes it (1009) before it is read. */
export const MAX_FRAME = MAX_DATA_FRAME;
/** How much of the boot log a viewer is sent on attaching. */
export const HISTORY_BYTES = 64 * 1024;

/** The hub's browser-facing path, and the spoke's (followed by the capsul id). */
export const HUB_CONSOLE_PATH = '/console';
export const SPOKE_CONSOLE_PREFIX = '/console/';
/** After the capsul id on the spoke's path: the graphical console (VNC) instead of the serial line. */
export const SPOKE_GRAPHICS_SUFFIX = '/vnc';
/** The query parameter carrying the ticket on the hub's path. */
export const TICKET_PARAM = 'ticket';

const reason = z.string().max(120);

/** Control messages, both ways. */
export const controlFrame = z.discriminatedUnion('t', [
  /** viewer → guest: the terminal's size (a real serial line has none; kept for the graphical leg and logs). */
  z.strictObject({ t: z.literal('resize'), cols: z.number().int().min(1).max(1000), rows: z.number().int().min(1).max(1000) }),
  /** spoke → viewer, first: attached; the history (boot log) follows as binary frames, then `live`. */
  /** `offset`: how many live bytes the spoke's attachment had delivered before this viewer's first one (the
   *  history ends exactly there: nothing between history and live is missing or doubled). */
  z.strictObject({
    t: z.literal('attached'),
    capsulId,
    simulated: z.boolean(),
    historyBytes: z.number().int().min(0).max(HISTORY_BYTES),
    offset: z.number().int().min(0),
  }),
  /** spoke → viewer: what follows is live. */
  z.strictObject({ t: z.literal('live') }),
  /** either way, before a close: why. */
  z.strictObject({ t: z.literal('close'), reason }),
]);
export type ControlFrame = z.infer<typeof controlFrame>;

/** A text frame as a control message, or null when it is not one. */
export function parseControl(text: string): ControlFrame | null {
  if (text.length > MAX_CONTROL_FRAME) return null;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return null;
  }
  const parsed = controlFrame.safeParse(value);
  return parsed.success ? parsed.data : null;
}

/** WebSocket close codes the console uses (4000–4999 are the application's). */
export const CLOSE = {
  normal: 1000,
  going: 1001,
  /** a frame that is not one of ours (garbage, a bad control message) */
  protocol: 4400,
  /** the ticket, session, or token was refused */
  refused: 4401,
  /** no such capsul, or it is on no host */
  notFound: 4404,
  /** nobody typed for CONSOLE_IDLE_MS */
  idle: 4408,
  /** the viewer did not read fast enough, or sent too fast */
  tooFast: 4429,
  /** this capsul has no such console (the fake driver has no graphical one) */
  unsupported: 4501,
  /** the spoke or the guest's console went away */
  gone: 4502,
} as const;

/** `console.ticket`'s input and output. */
/** Which console: the first serial port (xterm.js), or the graphical one (VNC, noVNC). */
export const consoleKind = z.enum(['serial', 'vnc']);
export type ConsoleKind = z.infer<typeof consoleKind>;
export const ticketInput = z.strictObject({ id: capsulId, kind: consoleKind.default('serial') });
export const ticketOutput = z.strictObject({
  /** Opaque; sent once as `?ticket=` on the hub's console WebSocket. */
  ticket: z.string().regex(/^[A-Za-z0-9_-]{43}$/),
  expiresAt: z.date(),
  /** The WebSocket path to open on the hub (same origin as the page). */
  path: z.string(),
});
export type TicketOutput = z.infer<typeof ticketOutput>;
