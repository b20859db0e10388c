// A spoke process (fake driver) sends its usage to the hub and shows it on /metrics: against a stand-in for the
// hub's `spoke.*` (heartbeat and reportUsage as the contract has them, over HTTPS with the spoke's own token),
// so this checks the spoke's wiring only; the hub's side of reportUsage has its own tests.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { initTRPC, TRPCError } from '@trpc/server';
import { createHTTPHandler } from '@trpc/server/adapters/standalone';
import superjson from 'superjson';
import { z } from 'zod';
import { reportUsageInput, reportUsageOutput, type ReportUsageInput } from '~/contract/usage';
import { newToken } from '~/lib/tokens';
import { CapsulProcess, freePort, until } from '../support/processes';
import { makeTestTls, type TestTls } from '../support/tls';

describe('a spoke process reporting usage', () => {
  let tls: TestTls;
  let hub: https.Server;
  let spoke: CapsulProcess;
  let metricsPort: number;
  const hostToken = newToken();
  const reports: ReportUsageInput[] = [];

  before(async () => {
    tls = await makeTestTls();
    const t = initTRPC.context<{ authorized: boolean }>().create({ transformer: superjson });
    const spokeOnly = t.procedure.use(({ ctx, next }) => {
      if (!ctx.authorized) throw new TRPCError({ code: 'UNAUTHORIZED' });
      return next();
    });
    const router = t.router({
      spoke: t.router({
        heartbeat: spokeOnly.input(z.unknown()).mutation(() => ({ ok: true as const })),
        reportUsage: spokeOnly.input(reportUsageInput).output(reportUsageOutput).mutation(({ input }) => {
          reports.push(input);
          return { stored: input.points.length };
        }),
      }),
    });
    const handler = createHTTPHandler({
      router,
      basePath: '/api/trpc/',
      createContext: ({ req }) => ({ authorized: req.headers.authorization === `Bearer ${hostToken}` }),
    });
    hub = https.createServer({ cert: readFileSync(tls.certFile), key: readFileSync(tls.keyFile) }, handler);
    await new Promise<void>((resolve) => hub.listen(0, '127.0.0.1', resolve));
    metricsPort = await freePort();
    const stateDir = `${tls.dir}/spoke`;
    spoke = await CapsulProcess.start('use-1', {
      HUB_MODE: 'false', SPOKE_MODE: 'true', SPOKE_PORT: String(await freePort()), SPOKE_BIND_ADDRESS: '127.0.0.1',
      DATA_DIR: stateDir, SPOKE_STATE_DIR: stateDir, HUB_URL: `https://127.0.0.1:${(hub.address() as AddressInfo).port}`,
      HUB_TOKEN: newToken(), SPOKE_HOST_ID: 'use-1', SPOKE_HOST_TOKEN: hostToken, SPOKE_DRIVER: 'fake', FAKE_CREATE_MS: '0',
      TLS_CERT_FILE: tls.certFile, TLS_KEY_FILE: tls.keyFile, TLS_CA_FILE: tls.caFile,
      USAGE_SAMPLE_PERIOD_MS: '300', METRICS_ADDRESS: `127.0.0.1:${metricsPort}`,
    });
  });
  after(async () => {
    await spoke?.stop();
    hub?.close();
  });

  test('points every period, within the contract, with the host; the host on /metrics; stopped with the spoke', async () => {
    await until('two usage reports', async () => reports.length >= 2, 30_000, 100);
    const points = reports.flatMap((r) => r.points);
    assert.ok(points.every((p) => p.seconds > 0 && p.seconds < 5 && p.host.memoryTotalBytes > 0));
    assert.ok(points.every((p, i) => i === 0 || p.at > points[i - 1]!.at), 'each once, in order');

    const text = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
    assert.match(text, /^capsul_spoke_host_memory_bytes\{kind="total"\} \d+/m);
    assert.match(text, /^capsul_spoke_host_disk_bytes\{kind="used"\} \d+/m);

    await spoke.stop();
    const sent = reports.length;
    await new Promise((r) => setTimeout(r, 1000));
    assert.equal(reports.length, sent, 'nothing after the stop');
    assert.doesNotMatch(spoke.logs(), /"level":"(warn|error)"/, 'nothing to warn about');
  });
});
