// Once per run: a test CA and server certificate, and a browser profile home whose NSS database trusts that
// CA, so Chromium checks the hub's certificate like any other (nothing turns checking off).
import { mkdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { execa } from 'execa';
import { ensureCa, issueCertificate } from '../src/lib/tls';
import { E2E_DIR, E2E_HOME, E2E_TLS } from './support/paths';

export default async function globalSetup() {
  await rm(E2E_DIR, { recursive: true, force: true });
  await ensureCa(E2E_TLS, 'Capsul e2e CA');
  await issueCertificate({ caDir: E2E_TLS, outDir: E2E_TLS, name: 'server', sans: ['localhost', '127.0.0.1'] });
  const nssdb = path.join(E2E_HOME, '.pki/nssdb');
  await mkdir(nssdb, { recursive: true });
  try {
    await execa('certutil', ['-N', '-d', `sql:${nssdb}`, '--empty-password']);
    await execa('certutil', ['-A', '-d', `sql:${nssdb}`, '-n', 'capsul-e2e-ca', '-t', 'C,,', '-i', path.join(E2E_TLS, 'ca.pem')]);
  } catch (err) {
    throw new Error(`certutil failed (apt-get install -y libnss3-tools): ${(err as Error).message}`);
  }
  await execa('/usr/bin/chromium', ['--version']).catch(() => {
    throw new Error("Debian's chromium is needed for the browser tests: apt-get install -y chromium");
  });
}
