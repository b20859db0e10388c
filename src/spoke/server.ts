// Starts a spoke: its hypervisor, its outbox of completions, its usage sampler, and the tRPC router over
// HTTPS at /trpc.
import https from 'node:https';
import path from 'node:path';
import { createHTTPHandler } from '@trpc/server/adapters/standalone';
import type { Env } from '~/env';
import { httpsFetch } from '~/lib/https-fetch';
import type { Logger } from '~/lib/log';
import { trpcErrorCode } from '~/lib/trpc-errors';
import { METRICS_PATH, serveMetrics } from '~/lib/metrics-endpoint';
import type { TlsMaterial } from '~/lib/tls';
import { backoffMs, Outbox, type Delivery } from './outbox';
import { createHubClient } from './hub-client';
import { selectHypervisor } from './hypervisor/select';
import { spokeRouter } from './router';
import { collectCapacity, collectUsage } from './metrics';
import { Spoke } from './spoke';
import { spokeContextFactory } from './trpc';
import { consoleEndpoint } from './console/endpoint';
import { UsageSampler } from './usage/sampler';

// Answers from the hub that no retry will change.
const REFUSALS = new Set(['BAD_REQUEST', 'NOT_FOUND', 'FORBIDDEN', 'CONFLICT']);

/**
 * `announce: false` (the combined process): the spoke does not call the hub until `announce()` is called,
 * once the hub in the same process listens, so its first call cannot fail for a hub that is not up yet.
 */
export async function startSpoke(env: Env, tls: TlsMaterial, log: Logger, opts: { announce?: boolean } = {}) {
  const hubUrl = env.HUB_URL!;
  const hostId = env.SPOKE_HOST_ID!;
  const spokeLog = log.child({ role: 'spoke', hostId });
  const hypervisor = await selectHypervisor(env, spokeLog);
  const hub = createHubClient({
    hubUrl,
    hostId,
    hostToken: env.SPOKE_HOST_TOKEN!,
    fetch: httpsFetch({ ca: tls.ca, connectionsPerPeer: 4 }),
    timeoutMs: env.HUB_CALL_TIMEOUT_MS,
  });
  const deliver = async (completion: Parameters<typeof hub.spoke.completeOperation.mutate>[0]): Promise<Delivery> => {
    try {
      await hub.spoke.completeOperation.mutate(completion);
      return 'acknowledged';
    } catch (err) {
      const code = trpcErrorCode(err);
      if (code && REFUSALS.has(code)) return 'refused';
      throw err;
    }
  };
  const outbox = new Outbox(path.join(env.SPOKE_STATE_DIR, 'outbox'), deliver, spokeLog);
  const spoke = new Spoke(hypervisor, hub, outbox, spokeLog, path.join(env.SPOKE_STATE_DIR, 'builds'));
  collectCapacity(spoke);
  // Usage history: sampled from the start, sent as the hub takes it (until then the points wait, bounded).
  const usage = new UsageSampler({
    counters: () => hypervisor.usageCounters(),
    send: (points) => hub.spoke.reportUsage.mutate({ points }),
    periodMs: env.USAGE_SAMPLE_PERIOD_MS,
    log: spokeLog,
  });
  collectUsage(() => usage.latest);

  const handler = createHTTPHandler({
    router: spokeRouter,
    basePath: '/trpc/',
    maxBodySize: 1024 * 1024,
    createContext: spokeContextFactory(spoke, env.HUB_TOKEN!, spokeLog),
  });
  // Optional mutual TLS: only callers with a certificate from the configured CA (the hub) get through.
  const clientAuth = env.SPOKE_REQUIRE_CLIENT_CERT ? { requestCert: true, rejectUnauthorized: true, ca: tls.ca } : {};
  const server = https.createServer({ cert: tls.cert, key: tls.key, noDelay: true, ...clientAuth }, (req, res) => {
    if (req.url === METRICS_PATH) {
      serveMetrics(req, res, env.METRICS_TOKEN);
      return;
    }
    if (!req.url?.startsWith('/trpc/')) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
      return;
    }
    handler(req, res);
  });
  server.keepAliveTimeout = 60_000;
  // The console's WebSocket (/console/<capsul id>), with the same hub token as /trpc.
  const consoles = consoleEndpoint(hypervisor, env.HUB_TOKEN!, spokeLog);
  server.on('upgrade', consoles.upgrade);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ port: env.SPOKE_PORT, host: env.SPOKE_BIND_ADDRESS, backlog: 4096 }, () => resolve());
  });
  spokeLog.info('spoke listening', { url: `https://${env.SPOKE_BIND_ADDRESS}:${env.SPOKE_PORT}/trpc`, hubUrl, driver: hypervisor.driver });
  await outbox.start();
  // Builds an earlier run left unfinished are settled with the hub and finished in the background: the
  // spoke serves meanwhile (the hub may be the one that is not there yet).
  void spoke
    .recoverInterruptedBuilds()
    .then((resumed) => resumed && spokeLog.warn('builds interrupted by the last stop are being finished', { count: resumed }))
    .catch((err) => spokeLog.error('recovering interrupted builds failed', { err }));
  void spoke.changes
    .recover()
    .then((recovered) => recovered && spokeLog.warn('changes interrupted by the last stop are being finished or undone', { count: recovered }))
    .catch((err) => spokeLog.error('recovering interrupted changes failed', { err }));

  // Starting is news: tell the hub now rather than waiting for its next heartbeat round.
  let announced = false;
  let stopped = false;
  const announce = async () => {
    for (let attempt = 0; !announced && !stopped; attempt++) {
      try {
        await spoke.heartbeatHub();
        announced = true;
        spokeLog.info('hub reached: this host is online');
      } catch (err) {
        if (attempt === 0 || attempt % 10 === 0) spokeLog.warn('hub not reachable yet; retrying', { hubUrl, err });
        await new Promise((r) => setTimeout(r, backoffMs(attempt, 250, 5000)));
      }
    }
  };
  if (opts.announce !== false) void announce();
  usage.start();

  return {
    spoke,
    server,
    consoles,
    driver: hypervisor.driver,
    /** Starts the first call to the hub (when started with `announce: false`). */
    announce: () => void announce(),
    /**
     * A graceful stop (SIGTERM, `systemctl restart`): no new connections and no new offers; builds in
     * progress get SPOKE_STOP_GRACE_MS to finish and their completions a last delivery attempt. What is left
     * is on disk (journals, outbox), and the next start finishes and delivers it.
     */
    async close() {
      stopped = true;
      usage.stop();
      const started = Date.now();
      server.close();
      await consoles.close('the spoke is stopping');
      const building = await spoke.stop(env.SPOKE_STOP_GRACE_MS);
      const undelivered = await outbox.drain(Math.max(1000, env.SPOKE_STOP_GRACE_MS - (Date.now() - started)));
      server.closeAllConnections();
      spokeLog.info('spoke stopped', { stillBuilding: building, undelivered, ms: Date.now() - started });
    },
  };
}
