// Starts the hub: database (migrations applied with Prisma's own engine, catalogs seeded), this process's
// HTTPS server with /api/trpc (api.ts) in front of the Next.js console, the change feed between hubs, and the
// periodic work (heartbeats, reaper, reconciliation, retention) while this hub leads (leader.ts). Its stop is
// graceful (drain.ts).
import https from 'node:https';
import net from 'node:net';
import next from 'next';
import type { Env } from '~/env';
import { httpsFetch } from '~/lib/https-fetch';
import type { Logger } from '~/lib/log';
import type { TlsMaterial } from '~/lib/tls';
import { hashToken } from '~/lib/tokens';
import { setDatabase } from './db/client';
import { openDatabase } from './db/open';
import { METRICS_PATH, serveMetrics } from '~/lib/metrics-endpoint';
import { API_PREFIX, createHubApiHandler } from './api';
import { sayHowSignInWorks } from './auth/mail';
import { stampClientAddress } from './client-address';
import { securityHeaders } from './security-headers';
import { seedCatalogs } from './db/seed';
import { startHousekeeping } from './housekeeping';
import { leadWhileHoldingLock } from './leader';
import { startChangeFeed } from './change-feed';
import { Drain } from './drain';
import { collectFromDatabase } from './metrics';
import { recordsWritten } from './operations/record';
import { configureSpokeClients } from './spoke-client';
import { hubTokenSource } from './host-tokens';
import { consoleRelay } from './console/relay';
import { BILLING_WEBHOOK_PREFIX, billingWebhooks } from './billing/webhooks';

export async function startHub(env: Env, tls: TlsMaterial, log: Logger, opts: { dir?: string } = {}) {
  const hubLog = log.child({ role: 'hub' });
  const database = await openDatabase({ url: env.DATABASE_URL, dataDir: env.DATA_DIR });
  setDatabase(database);
  const applied = await database.migrate();
  hubLog.info('database ready', { kind: database.kind, migrationsApplied: applied });
  await seedCatalogs(database.db);
  collectFromDatabase();
  // The hub presents its own certificate to spokes, for those that require one (SPOKE_REQUIRE_CLIENT_CERT).
  const hubTokens = hubTokenSource(database.db);
  configureSpokeClients({ fetch: httpsFetch({ ca: tls.ca, cert: tls.cert, key: tls.key }), hubTokens });

  if (env.SPOKE_MODE && env.SPOKE_URL) {
    // The local spoke of a combined process is a Host like any other.
    const id = env.SPOKE_HOST_ID!;
    const data = { httpsUrl: env.SPOKE_URL, tokenHash: hashToken(env.SPOKE_HOST_TOKEN!), removedAt: null };
    await database.db.host.upsert({ where: { id }, create: { id, ...data }, update: data });
    hubLog.info('local spoke registered as a host', { hostId: id, httpsUrl: env.SPOKE_URL });
  }

  const app = next({ dev: false, dir: opts.dir ?? process.cwd(), hostname: env.BIND_ADDRESS, port: env.PORT });
  await app.prepare();
  const handle = app.getRequestHandler();
  const api = createHubApiHandler();
  const drain = new Drain();
  const webhooks = billingWebhooks({ db: () => database.db });
  const secure = securityHeaders(env.PUBLIC_URL, [API_PREFIX, METRICS_PATH, BILLING_WEBHOOK_PREFIX]);
  const server = https.createServer({ cert: tls.cert, key: tls.key, noDelay: true }, (req, res) => {
    stampClientAddress(req, env.TRUST_PROXY);
    secure(req, res);
    if (!drain.admit(req, res)) return;
    if (req.url?.startsWith(API_PREFIX)) api(req, res);
    else if (req.url === METRICS_PATH) serveMetrics(req, res, env.METRICS_TOKEN);
    // The payment rails' webhooks, on the raw body (billing/webhooks.ts says why not a Next.js route).
    else if (req.url?.startsWith(BILLING_WEBHOOK_PREFIX)) void webhooks(req, res);
    else void handle(req, res);
  });
  server.keepAliveTimeout = 60_000;
  server.on('secureConnection', () => drain.connected());
  // The console's WebSocket (/console): the only upgrade the hub accepts (src/hub/console/relay.ts).
  const consoles = consoleRelay({ db: () => database.db, tls, log: hubLog, hubTokens });
  server.on('upgrade', (req, socket, head) => {
    stampClientAddress(req, env.TRUST_PROXY);
    consoles.upgrade(req, socket, head);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ port: env.PORT, host: env.BIND_ADDRESS, backlog: 4096 }, () => resolve());
  });
  hubLog.info('hub listening', { url: `https://${env.BIND_ADDRESS}:${env.PORT}`, database: database.kind });
  sayHowSignInWorks(env, hubLog);

  const leadership = leadWhileHoldingLock({
    databaseUrl: env.DATABASE_URL,
    retryMs: env.HEARTBEAT_PERIOD_MS,
    log: hubLog,
    lead: () => startHousekeeping(database.db, hubLog),
  });
  const changeFeed = env.DATABASE_URL ? startChangeFeed({ db: database.db, databaseUrl: env.DATABASE_URL, retryMs: env.HEARTBEAT_PERIOD_MS, log: hubLog }) : undefined;
  return {
    server,
    consoles,
    /** A graceful stop (drain.ts): what was accepted finishes; what is new is refused with a 503. */
    async close() {
      const started = Date.now();
      const left = () => Math.max(1000, env.HUB_STOP_GRACE_MS - (Date.now() - started));
      consoles.close('the hub is restarting');
      await drain.drain(env.HUB_STOP_GRACE_MS);
      await leadership.stop();
      // No new connections. net's close, not http's: http's also drops every connection that has not sent a
      // request yet, including one whose first request is on its way, which that client would see cut.
      net.Server.prototype.close.call(server);
      await drain.close(left());
      const inFlight = drain.inFlight();
      server.closeAllConnections();
      await recordsWritten(); // operations answered before the close, recorded after it
      await changeFeed?.stop();
      await app.close();
      await database.close();
      hubLog.info('hub stopped', { cutShort: inFlight, ms: Date.now() - started });
    },
  };
}
