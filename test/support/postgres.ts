// Real PostgreSQL for tests: every test file gets its own fresh database on the server named by
// TEST_DATABASE_URL (scripts/test.sh starts a private server when none is given).
import { randomBytes } from 'node:crypto';
import pg from 'pg';

export function adminUrl(): string {
  const url = process.env.TEST_DATABASE_URL;
  if (!url) {
    throw new Error('TEST_DATABASE_URL is not set: run the tests with `npm test` (it starts PostgreSQL), or point it at a server where this role may CREATE DATABASE');
  }
  return url;
}

/** A fresh database on the server of `server` (a URL whose role may CREATE DATABASE; TEST_DATABASE_URL by default). */
export async function createTestDatabase(server = adminUrl()): Promise<{ url: string; drop(): Promise<void> }> {
  const name = `capsul_test_${randomBytes(5).toString('hex')}`;
  const admin = new pg.Client({ connectionString: server });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const url = new URL(server);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    async drop() {
      const c = new pg.Client({ connectionString: server });
      await c.connect();
      try {
        // An autovacuum worker in the database (it has no role) cannot be ended by a role without
        // pg_signal_backend (scripts/services.sh grants it); on such a server, wait for the worker to finish.
        for (let attempt = 1; ; attempt++) {
          try {
            await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
            return;
          } catch (err) {
            if ((err as { code?: string }).code !== '42501' || attempt === 20) throw err;
            await new Promise((r) => setTimeout(r, 250));
          }
        }
      } finally {
        await c.end();
      }
    },
  };
}
