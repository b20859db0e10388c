// /metrics, for Prometheus. Served on the process's HTTPS port to callers presenting METRICS_TOKEN, and, when
// METRICS_ADDRESS is set (e.g. 127.0.0.1:9464, a private address), over plain HTTP there without a token.
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import { registry } from './metrics';
import { bearerToken, tokenMatches } from './tokens';

export const METRICS_PATH = '/metrics';

async function write(res: ServerResponse): Promise<void> {
  const body = await registry.metrics();
  res.writeHead(200, { 'content-type': registry.contentType }).end(body);
}

/** On the main HTTPS server: only with the metrics token. */
export function serveMetrics(req: IncomingMessage, res: ServerResponse, token: string | undefined): void {
  const presented = bearerToken(req.headers.authorization);
  if (!token || !presented || !tokenMatches(presented, token)) {
    res.writeHead(token ? 401 : 404, { 'content-type': 'text/plain' }).end(token ? 'metrics need the metrics token\n' : 'not found\n');
    return;
  }
  void write(res).catch(() => res.writeHead(500).end());
}

/** A plain-HTTP listener for metrics alone, on an address of the operator's choosing. */
export async function listenForMetrics(address: string): Promise<http.Server> {
  const at = address.lastIndexOf(':');
  const host = address.slice(0, at).replace(/^\[|\]$/g, '');
  const port = Number(address.slice(at + 1));
  const server = http.createServer((req, res) => {
    if (req.url === METRICS_PATH) void write(res).catch(() => res.writeHead(500).end());
    else res.writeHead(404).end();
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  return server;
}
