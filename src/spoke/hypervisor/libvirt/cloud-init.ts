// The cloud-init NoCloud seed of a capsul: meta-data (instance-id, hostname) and user-data (the SSH keys),
// on an ISO 9660 volume labelled `cidata`, made with xorriso (Debian package `xorriso`).
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { execa } from 'execa';

export function metaData(id: string): string {
  return `instance-id: ${id}\nlocal-hostname: ${id}\n`;
}

/** Keys are written as JSON strings, which YAML reads as they are; the contract already refused newlines. */
export function userData(hostname: string, sshAuthorizedKeys: string[]): string {
  const keys = sshAuthorizedKeys.map((k) => `  - ${JSON.stringify(k)}\n`).join('');
  return `#cloud-config\nhostname: ${hostname}\nssh_authorized_keys:\n${keys}`;
}

export async function buildSeedIso(opts: { id: string; sshAuthorizedKeys: string[]; output: string; workDir: string }): Promise<void> {
  const dir = await mkdtemp(path.join(opts.workDir, `.seed-${opts.id}-`));
  try {
    await writeFile(path.join(dir, 'meta-data'), metaData(opts.id));
    await writeFile(path.join(dir, 'user-data'), userData(opts.id, opts.sshAuthorizedKeys));
    await execa('xorriso', [
      '-as', 'mkisofs', '-quiet', '-output', opts.output, '-volid', 'cidata', '-joliet', '-rock',
      path.join(dir, 'meta-data'), path.join(dir, 'user-data'),
    ]);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
