// The one entry point: `HUB_MODE` and `SPOKE_MODE` (both on by default) decide what this process runs.
import { existsSync } from 'node:fs';
import { fillQuickStartDefaults } from './bootstrap';
import { EnvError, reloadEnv } from './env';
import { db } from './hub/db/client';
import { startHub } from './hub/server';
import { log } from './lib/log';
import { listenForMetrics } from './lib/metrics-endpoint';
import { loadTls } from './lib/tls';
import { provideTestGuest } from './quick-start-guest';
import { startSpoke } from './spoke/server';

// Whoever reads our output is gone (a closed pipe): exit instead of failing to log forever.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(1);
  });
}

async function main() {
  if (existsSync('.env')) process.loadEnvFile('.env');
  const generated = fillQuickStartDefaults();
  const env = reloadEnv();
  if (generated.length) log.info('quick-start defaults filled in (secrets kept in DATA_DIR/secrets.json)', { names: generated });
  log.info('starting', { hubMode: env.HUB_MODE, spokeMode: env.SPOKE_MODE, dataDir: env.DATA_DIR });

  const tls = await loadTls({ dataDir: env.DATA_DIR, certFile: env.TLS_CERT_FILE, keyFile: env.TLS_KEY_FILE, caFile: env.TLS_CA_FILE });
  const closers: (() => Promise<void>)[] = [];
  // The spoke first: in a combined process the hub's first heartbeat round then finds it listening. It calls
  // the hub only once the hub listens (a first call sooner could only fail, and say so in the log).
  const spoke = env.SPOKE_MODE ? await startSpoke(env, tls, log, { announce: !env.HUB_MODE }) : undefined;
  if (spoke) closers.push(spoke.close);
  if (env.HUB_MODE) closers.push((await startHub(env, tls, log)).close);
  if (env.HUB_MODE) spoke?.announce();
  if (env.METRICS_ADDRESS) {
    const metrics = await listenForMetrics(env.METRICS_ADDRESS);
    closers.push(() => new Promise((resolve) => metrics.close(() => resolve())));
    log.info('metrics over plain HTTP', { address: env.METRICS_ADDRESS });
  }
  log.info('ready', { hub: env.HUB_MODE ? `https://localhost:${env.PORT}` : undefined, caFile: tls.caFile });
  if (env.PROVIDE_TEST_GUEST && env.HUB_MODE && spoke) {
    void provideTestGuest({ env, db: db(), log, driver: spoke.driver, announce: () => spoke.spoke.heartbeatHub() }).catch((err) =>
      log.warn('providing the test guest image failed; the hub and spoke run on without it', { err }),
    );
  }

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info('stopping', { signal });
    await Promise.allSettled(closers.reverse().map((close) => close()));
    process.exit(0);
  };
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGTERM', () => void stop('SIGTERM'));
}

main().catch((err) => {
  if (err instanceof EnvError) {
    process.stderr.write(`capsul: ${err.message}\n`);
  } else {
    log.error('start failed', { err });
  }
  process.exit(1);
});
