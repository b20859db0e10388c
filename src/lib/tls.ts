// TLS material for the hub and the spoke. With TLS_CERT_FILE/TLS_KEY_FILE given, those are used; otherwise
// the first start makes a local CA and a server certificate under DATA_DIR/tls and reuses them afterwards.
// Clients trust TLS_CA_FILE (or the generated CA); certificate checking is never turned off.
import { mkdir, mkdtemp, readFile, rename, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';

export type TlsMaterial = { cert: Buffer; key: Buffer; ca?: Buffer; caFile?: string };

const CURVE = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];

async function exists(file: string): Promise<boolean> {
  return stat(file).then(
    () => true,
    () => false,
  );
}

/** Makes a CA (ca.pem, ca.key) in `dir` unless one is there. */
export async function ensureCa(dir: string, commonName = 'Capsul local CA'): Promise<void> {
  if (await exists(path.join(dir, 'ca.pem'))) return;
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const tmp = await mkdtemp(path.join(dir, '.ca-'));
  try {
    await execa('openssl', [
      'req', '-x509', ...CURVE, '-keyout', path.join(tmp, 'ca.key'), '-out', path.join(tmp, 'ca.pem'),
      '-days', '3650', '-subj', `/CN=${commonName}`,
      '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign',
    ]);
    await rename(path.join(tmp, 'ca.key'), path.join(dir, 'ca.key'));
    await rename(path.join(tmp, 'ca.pem'), path.join(dir, 'ca.pem'));
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}

/** Issues `<name>.pem` / `<name>.key` signed by the CA in `caDir`, valid for the given DNS names and IPs. */
export async function issueCertificate(opts: { caDir: string; outDir: string; name: string; sans: string[] }): Promise<void> {
  const san = opts.sans.map((s) => (/^[\d.]+$|:/.test(s) ? `IP:${s}` : `DNS:${s}`)).join(',');
  await mkdir(opts.outDir, { recursive: true, mode: 0o700 });
  const tmp = await mkdtemp(path.join(opts.outDir, '.cert-'));
  try {
    await execa('openssl', [
      'req', '-x509', '-CA', path.join(opts.caDir, 'ca.pem'), '-CAkey', path.join(opts.caDir, 'ca.key'),
      ...CURVE, '-keyout', path.join(tmp, 'key'), '-out', path.join(tmp, 'pem'), '-days', '825',
      '-subj', `/CN=${opts.sans[0] ?? opts.name}`,
      '-addext', `subjectAltName=${san}`, '-addext', 'basicConstraints=critical,CA:FALSE',
      '-addext', 'extendedKeyUsage=serverAuth,clientAuth',
    ]);
    await rename(path.join(tmp, 'key'), path.join(opts.outDir, `${opts.name}.key`));
    await rename(path.join(tmp, 'pem'), path.join(opts.outDir, `${opts.name}.pem`));
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}

/** Names this machine answers to: localhost, its hostname and every address of its interfaces. */
export function localNames(): string[] {
  const addresses = Object.values(os.networkInterfaces())
    .flat()
    .filter((a) => a && !a.address.startsWith('fe80'))
    .map((a) => a!.address);
  return [...new Set(['localhost', os.hostname(), '127.0.0.1', '::1', ...addresses])];
}

export async function loadTls(opts: {
  dataDir: string;
  certFile?: string;
  keyFile?: string;
  caFile?: string;
}): Promise<TlsMaterial> {
  if (opts.certFile && opts.keyFile) {
    return {
      cert: await readFile(opts.certFile),
      key: await readFile(opts.keyFile),
      ca: opts.caFile ? await readFile(opts.caFile) : undefined,
      caFile: opts.caFile,
    };
  }
  const dir = path.join(opts.dataDir, 'tls');
  await ensureCa(dir);
  if (!(await exists(path.join(dir, 'server.pem')))) {
    await issueCertificate({ caDir: dir, outDir: dir, name: 'server', sans: localNames() });
  }
  const caFile = opts.caFile ?? path.join(dir, 'ca.pem');
  return {
    cert: await readFile(path.join(dir, 'server.pem')),
    key: await readFile(path.join(dir, 'server.key')),
    ca: await readFile(/*turbopackIgnore: true*/ caFile),
    caFile,
  };
}
