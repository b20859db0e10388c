// Quick-start defaults. A hub needs HUB_SECRET (each host's hub token is derived from it) and HUB_ADMIN_TOKEN
// (for the CLI); when they are not configured, they are generated once and kept in DATA_DIR/secrets.json (mode
// 0600). When one process runs both hub and spoke, its local spoke's id, tokens and URLs are filled in the same
// way; its HUB_TOKEN is the one the hub derives for it (with the initial salt: its Host row is written later,
// with the salt column's default). Values given in the environment always win. This runs before anything reads
// `env()`.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { EnvError, parseEnv } from './env';
import { deriveHubToken, INITIAL_HUB_TOKEN_SALT, newToken } from './lib/tokens';

// hubToken: the one token every spoke held before v1.1, kept to hand over (HUB_SHARED_TOKEN) while upgrading.
type Secrets = { hubSecret?: string; hubToken?: string; adminToken?: string; localSpokeToken?: string };

export function secretsFile(dataDir: string): string {
  return path.join(dataDir, 'secrets.json');
}

const secretsShape = z.object({ hubSecret: z.string().optional(), hubToken: z.string().optional(), adminToken: z.string().optional(), localSpokeToken: z.string().optional() });

/**
 * The kept secrets; none when the file does not exist yet (first start). A file that exists but cannot be
 * read or parsed stops the start: making new tokens instead would lock out every spoke that joined.
 */
export function readSecrets(dataDir: string): Secrets {
  const file = secretsFile(dataDir);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return {};
    throw new EnvError(`cannot read ${file}: ${(err as Error).message}. ${KEEP_IT}`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw new EnvError(`${file} is not valid JSON (${(err as Error).message}). ${KEEP_IT}`);
  }
  const secrets = secretsShape.safeParse(parsed);
  if (!secrets.success) throw new EnvError(`${file} does not hold the hub's tokens as expected. ${KEEP_IT}`);
  return secrets.data;
}

const KEEP_IT =
  'Repair it or restore it from a backup; deleting it makes new tokens, and every spoke that joined this hub then refuses it.';

/** Fills missing quick-start values into `target`; returns the names it generated or defaulted. */
export function fillQuickStartDefaults(target: NodeJS.ProcessEnv = process.env): string[] {
  const env = parseEnv(target); // a malformed value stops here, named
  if (!env.HUB_MODE) return [];
  const secrets = readSecrets(env.DATA_DIR);
  const filled: string[] = [];
  let changed = false;
  const fill = (name: string, value: () => string) => {
    if (target[name]) return;
    target[name] = value();
    filled.push(name);
  };
  const secret = (key: keyof Secrets) => () => {
    if (!secrets[key]) {
      secrets[key] = newToken();
      changed = true;
    }
    return secrets[key]!;
  };
  fill('HUB_SECRET', secret('hubSecret'));
  fill('HUB_ADMIN_TOKEN', secret('adminToken'));
  if (secrets.hubToken) fill('HUB_SHARED_TOKEN', () => secrets.hubToken!);
  if (env.SPOKE_MODE) {
    fill('SPOKE_HOST_ID', () => 'local');
    fill('HUB_TOKEN', () => deriveHubToken(target.HUB_SECRET!, target.SPOKE_HOST_ID!, INITIAL_HUB_TOKEN_SALT));
    fill('SPOKE_HOST_TOKEN', secret('localSpokeToken'));
    fill('HUB_URL', () => `https://localhost:${env.PORT}`);
    fill('SPOKE_URL', () => `https://localhost:${env.SPOKE_PORT}`);
  }
  if (changed) {
    // 0755: QEMU (its own user) must reach the libvirt driver's default images/ and disks/ folders in here;
    // the secrets themselves are 0600.
    mkdirSync(env.DATA_DIR, { recursive: true, mode: 0o755 });
    writeFileSync(secretsFile(env.DATA_DIR), `${JSON.stringify(secrets, null, 2)}\n`, { mode: 0o600 });
  }
  return filled;
}
