// The operator's typed client for the hub: HTTPS with the hub's CA and the admin token.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { createTRPCClient, httpLink, type TRPCClient } from '@trpc/client';
import superjson from 'superjson';
import { readSecrets } from '~/bootstrap';
import type { HubRouter } from '~/hub/root';
import { httpsFetch } from '~/lib/https-fetch';

export type HubAdminClient = TRPCClient<HubRouter>;

export type AdminSettings = { hubUrl: string; adminToken: string; ca?: Buffer; connections?: number };

/** Settings from the environment, falling back to what the quick start keeps in DATA_DIR. */
export function adminSettingsFromEnv(env: NodeJS.ProcessEnv = process.env): AdminSettings {
  const dataDir = path.resolve(env.DATA_DIR || '.data');
  const hubUrl = env.CAPSUL_HUB_URL || env.HUB_URL || `https://localhost:${env.PORT || 3000}`;
  const adminToken = env.HUB_ADMIN_TOKEN || readSecrets(dataDir).adminToken;
  if (!adminToken) throw new Error(`no admin token: set HUB_ADMIN_TOKEN or run from the hub's folder (${dataDir}/secrets.json)`);
  const caFile = env.TLS_CA_FILE || path.join(dataDir, 'tls', 'ca.pem');
  let ca: Buffer | undefined;
  try {
    ca = readFileSync(caFile);
  } catch {
    ca = undefined; // the system's trust store then decides
  }
  return { hubUrl: hubUrl.replace(/\/+$/, ''), adminToken, ca };
}

export function createHubAdminClient(settings: AdminSettings): HubAdminClient {
  return createTRPCClient<HubRouter>({
    links: [
      httpLink({
        url: `${settings.hubUrl}/api/trpc`,
        transformer: superjson,
        fetch: httpsFetch({ ca: settings.ca, connectionsPerPeer: settings.connections }),
        headers: { authorization: `Bearer ${settings.adminToken}` },
      }),
    ],
  });
}
