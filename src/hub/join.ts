// Joining a new spoke: the host row and its two tokens, a server certificate for the spoke signed by the hub's CA
// (when the hub has the CA's key), and the exact environment the spoke needs, as an env file.
import { mkdtemp, readFile, rm, symlink } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { env } from '~/env';
import { issueCertificate } from '~/lib/tls';

/** The CA files the hub can sign with: TLS_CA_FILE + TLS_CA_KEY_FILE, or the generated local CA. */
function signingCa(): { caFile: string; keyFile: string } | null {
  const e = env();
  if (e.TLS_CA_FILE && e.TLS_CA_KEY_FILE) return { caFile: e.TLS_CA_FILE, keyFile: e.TLS_CA_KEY_FILE };
  if (!e.TLS_CERT_FILE) return { caFile: path.join(e.DATA_DIR, 'tls/ca.pem'), keyFile: path.join(e.DATA_DIR, 'tls/ca.key') };
  return null;
}

/**
 * The CA a spoke checks the hub's certificate against (its TLS_CA_FILE): the hub's TLS_CA_FILE, or the
 * generated local CA; null when the hub serves its own certificate without naming a CA (the system's store).
 */
export async function hubCaPem(): Promise<string | null> {
  const e = env();
  const file = e.TLS_CA_FILE ?? (e.TLS_CERT_FILE ? undefined : path.join(e.DATA_DIR, 'tls/ca.pem'));
  return file ? readFile(path.resolve(/*turbopackIgnore: true*/ file), 'utf8').catch(() => null) : null;
}

export async function spokeCertificate(address: string): Promise<{ cert: string; key: string; ca: string } | null> {
  const ca = signingCa();
  if (!ca) return null;
  const dir = await mkdtemp(path.join(os.tmpdir(), 'capsul-join-'));
  try {
    // issueCertificate reads ca.pem and ca.key from one folder: give it links to wherever they are.
    await symlink(path.resolve(/*turbopackIgnore: true*/ ca.caFile), path.join(dir, 'ca.pem'));
    await symlink(path.resolve(/*turbopackIgnore: true*/ ca.keyFile), path.join(dir, 'ca.key'));
    await issueCertificate({ caDir: dir, outDir: dir, name: 'spoke', sans: [address] });
    return {
      cert: await readFile(path.join(dir, 'spoke.pem'), 'utf8'),
      key: await readFile(path.join(dir, 'spoke.key'), 'utf8'),
      ca: await readFile(path.resolve(/*turbopackIgnore: true*/ ca.caFile), 'utf8'),
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** The spoke's environment as an env file; certificates travel base64-encoded (scripts/join-spoke.sh writes them out). */
export function spokeEnvFile(v: {
  hubUrl: string;
  hubToken: string;
  hostId: string;
  hostToken: string;
  port: number;
  spokeUrl: string;
  tls: { cert: string; key: string; ca: string } | null;
}): string {
  const b64 = (s: string) => Buffer.from(s).toString('base64');
  return [
    `# Capsul spoke ${v.hostId}: made by \`capsul host join\` on ${new Date().toISOString()}. Keep it secret (tokens, key).`,
    '# On the spoke machine: sudo scripts/join-spoke.sh <this file>',
    'HUB_MODE=false',
    'SPOKE_MODE=true',
    `HUB_URL=${v.hubUrl}`,
    `HUB_TOKEN=${v.hubToken}`,
    `SPOKE_HOST_ID=${v.hostId}`,
    `SPOKE_HOST_TOKEN=${v.hostToken}`,
    `SPOKE_URL=${v.spokeUrl}`,
    `SPOKE_PORT=${v.port}`,
    ...(v.tls
      ? [`TLS_CERT_B64=${b64(v.tls.cert)}`, `TLS_KEY_B64=${b64(v.tls.key)}`, `TLS_CA_B64=${b64(v.tls.ca)}`]
      : ['# No certificate: the hub has no CA key (TLS_CA_KEY_FILE). Give the spoke TLS_CERT_FILE, TLS_KEY_FILE and TLS_CA_FILE.']),
    '',
  ].join('\n');
}
