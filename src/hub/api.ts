// /api/trpc, served by the hub's own HTTPS server with tRPC's Node adapter, in front of Next.js (which serves
// the pages). The same router and context as everywhere, at about half the latency of a Next.js route handler
// per call when it was measured, which matters on the spokes' claim and completion path.
import type { IncomingMessage } from 'node:http';
import { createHTTPHandler } from '@trpc/server/adapters/standalone';
import { log } from '~/lib/log';
import { hubRouter } from './root';
import { createHubContext } from './trpc';

export const API_PREFIX = '/api/trpc/';

function headersOf(req: IncomingMessage): Headers {
  const headers = new Headers();
  for (const [name, value] of Object.entries(req.headers)) {
    if (typeof value === 'string') headers.set(name, value);
    else if (Array.isArray(value)) for (const v of value) headers.append(name, v);
  }
  return headers;
}

export function createHubApiHandler() {
  return createHTTPHandler({
    router: hubRouter,
    basePath: API_PREFIX,
    maxBodySize: 1024 * 1024,
    createContext: ({ req, res }) =>
      createHubContext({ headers: headersOf(req), setCookie: (cookie) => res.appendHeader('set-cookie', cookie) }),
    onError: ({ error, path }) => {
      if (error.code === 'INTERNAL_SERVER_ERROR') log.error('hub procedure failed', { path, err: error.cause ?? error });
    },
  });
}
