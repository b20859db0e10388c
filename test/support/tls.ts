// One CA and one server certificate (localhost, 127.0.0.1) per test file, made with the code the product uses.
import { mkdtemp } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { ensureCa, issueCertificate } from '~/lib/tls';

export type TestTls = { dir: string; caFile: string; certFile: string; keyFile: string };

export async function makeTestTls(sans: string[] = ['localhost', '127.0.0.1']): Promise<TestTls> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'capsul-tls-'));
  await ensureCa(dir, 'Capsul test CA');
  await issueCertificate({ caDir: dir, outDir: dir, name: 'server', sans });
  return { dir, caFile: path.join(dir, 'ca.pem'), certFile: path.join(dir, 'server.pem'), keyFile: path.join(dir, 'server.key') };
}
