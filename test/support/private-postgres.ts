// A PostgreSQL server of the test's own, for faults that stop or restart the database.
import { mkdtemp } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { ROOT } from './processes';

const SCRIPT = path.join(ROOT, 'scripts/test-postgres.sh');

export async function startPrivatePostgres() {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'capsul-pg-'));
  const { stdout } = await execa(SCRIPT, ['start', dir]);
  const admin = stdout.trim();
  const url = new URL(admin);
  url.pathname = '/capsul';
  await execa('psql', [admin, '-qc', 'CREATE DATABASE capsul']);
  return {
    url: url.toString(),
    pause: () => execa(SCRIPT, ['pause', dir]),
    resume: () => execa(SCRIPT, ['resume', dir]),
    restart: () => execa(SCRIPT, ['restart', dir]),
    stop: () => execa(SCRIPT, ['stop', dir]),
  };
}
