// What the browser tests run against: real PostgreSQL, a real SMTP receiver, a hub and two spokes as
// separate processes over HTTPS, with the e2e CA the browser trusts.
import path from 'node:path';
import { createTestDatabase } from '../../test/support/postgres';
import { allOnline, freePort, startHubProcess, startSpokeProcess, type Hub, type SpokeHandle } from '../../test/support/processes';
import type { TestTls } from '../../test/support/tls';
import { E2E_TLS } from './paths';
import { startSmtpReceiver } from './smtp';

export const ADMIN = 'admin@example.com';

export const e2eTls: TestTls = {
  dir: E2E_TLS,
  caFile: path.join(E2E_TLS, 'ca.pem'),
  certFile: path.join(E2E_TLS, 'server.pem'),
  keyFile: path.join(E2E_TLS, 'server.key'),
};

export type Stack = Awaited<ReturnType<typeof startStack>>;

/** `hubEnv`: settings of the hub's own on top of the stack's (billing, payment rails). */
export async function startStack(spokeEnv: [Record<string, string>, Record<string, string>] = [{}, {}], hubEnv: Record<string, string> = {}) {
  const database = await createTestDatabase();
  const smtp = await startSmtpReceiver();
  const port = await freePort();
  const hub: Hub = await startHubProcess({
    databaseUrl: database.url,
    tls: e2eTls,
    port,
    env: { SMTP_URL: smtp.url, ADMIN_EMAILS: ADMIN, PUBLIC_URL: `https://localhost:${port}`, ...hubEnv },
  });
  const spokes: SpokeHandle[] = [];
  for (const [i, env] of spokeEnv.entries()) {
    spokes.push(await startSpokeProcess({ hub, hostId: `spoke-${i + 1}`, tls: e2eTls, env: { FAKE_CREATE_MS: '2500', ...env } }));
  }
  /** Stops a spoke, runs `whileDown`, and starts it again as it was (same port, state, tokens and env). */
  const restartSpoke = async (hostId: string, whileDown: () => Promise<void>) => {
    const i = spokes.findIndex((s) => s.hostId === hostId);
    const old = spokes[i]!;
    await old.proc.stop();
    await whileDown();
    const { port, stateDir, hostToken, hubToken } = old;
    spokes[i] = await startSpokeProcess({ hub, hostId, tls: e2eTls, port, stateDir, hostToken, hubToken, env: { FAKE_CREATE_MS: '2500', ...spokeEnv[i] } });
  };
  await allOnline(hub, spokes.map((s) => s.hostId));
  return {
    hub,
    spokes,
    smtp,
    databaseUrl: database.url,
    url: `https://localhost:${port}`,
    restartSpoke,
    async stop() {
      await Promise.all(spokes.map((s) => s.proc.stop()));
      await hub.proc.stop();
      await smtp.close();
      await database.drop();
    },
  };
}
