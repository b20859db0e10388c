// `npm run capsul -- console <capsul-id>`: the operator's terminal on a capsul's serial console, through the
// hub like the browser's (a ticket minted with the admin token, then the hub's /console WebSocket with the
// admin token instead of a session cookie). Raw mode on a terminal; Ctrl-] leaves (as telnet and virsh console).
import { WebSocket } from 'ws';
import { HUB_CONSOLE_PATH, MAX_DATA_FRAME, parseControl, TICKET_PARAM } from '~/contract/console';
import type { AdminSettings, HubAdminClient } from './hub-admin-client';

export const ESCAPE_KEY = 0x1d; // Ctrl-]

type Streams = { stdin: NodeJS.ReadStream; stdout: NodeJS.WriteStream; stderr: NodeJS.WriteStream };

/** Resolves with the exit code once the console is left (0) or closed by the hub (1). */
export async function attachConsole(hub: HubAdminClient, settings: AdminSettings, id: string, io: Streams = process): Promise<number> {
  const { ticket } = await hub.console.ticket.mutate({ id });
  const url = `${settings.hubUrl.replace(/^http/, 'ws')}${HUB_CONSOLE_PATH}?${TICKET_PARAM}=${ticket}`;
  const ws = new WebSocket(url, { ca: settings.ca, headers: { authorization: `Bearer ${settings.adminToken}` }, perMessageDeflate: false, maxPayload: MAX_DATA_FRAME });
  const raw = io.stdin.isTTY;
  return new Promise<number>((resolve) => {
    let left = false;
    let reason = '';
    const restore = () => {
      if (raw) io.stdin.setRawMode(false);
      io.stdin.pause();
      io.stdin.off('data', onKey);
    };
    const onKey = (data: Buffer) => {
      const at = data.indexOf(ESCAPE_KEY);
      if (at >= 0) {
        if (at > 0) ws.send(data.subarray(0, at), { binary: true });
        left = true;
        ws.close(1000, 'the operator left');
        return;
      }
      for (let i = 0; i < data.length; i += MAX_DATA_FRAME) ws.send(data.subarray(i, i + MAX_DATA_FRAME), { binary: true });
    };
    ws.on('unexpected-response', (_req, res) => {
      let body = '';
      res.on('data', (c) => (body += c));
      res.on('end', () => {
        io.stderr.write(`console refused (HTTP ${res.statusCode}): ${body.trim()}\n`);
        resolve(1);
      });
    });
    ws.on('open', () => {
      io.stderr.write(`attached to ${id}; Ctrl-] leaves\r\n`);
      if (raw) io.stdin.setRawMode(true);
      io.stdin.on('data', onKey);
      io.stdin.resume();
      if (io.stdout.columns) ws.send(JSON.stringify({ t: 'resize', cols: io.stdout.columns, rows: io.stdout.rows }));
    });
    ws.on('message', (data, isBinary) => {
      const buf = Buffer.isBuffer(data) ? data : Buffer.from(data as ArrayBuffer);
      if (isBinary) return void io.stdout.write(buf);
      const frame = parseControl(buf.toString('utf8'));
      if (frame?.t === 'close') reason = frame.reason;
      if (frame?.t === 'attached' && frame.simulated) io.stderr.write('(the fake driver\'s simulated console, not a real VM)\r\n');
    });
    ws.on('error', (err) => {
      io.stderr.write(`console: ${err.message}\n`);
    });
    ws.on('close', (code, why) => {
      restore();
      if (!left) io.stderr.write(`\r\nconsole closed: ${reason || why.toString() || `code ${code}`}\n`);
      resolve(left ? 0 : 1);
    });
  });
}
