import { fetchRequestHandler } from '@trpc/server/adapters/fetch';
import { hubRouter } from '~/hub/root';
import { createHubContext } from '~/hub/trpc';
import { log } from '~/lib/log';

export const dynamic = 'force-dynamic';

function handler(req: Request) {
  return fetchRequestHandler({
    endpoint: '/api/trpc',
    req,
    router: hubRouter,
    createContext: ({ resHeaders }) => createHubContext({ headers: req.headers, resHeaders }),
    onError: ({ error, path }) => {
      if (error.code === 'INTERNAL_SERVER_ERROR') log.error('hub procedure failed', { path, err: error.cause ?? error });
    },
  });
}

export { handler as GET, handler as POST };
