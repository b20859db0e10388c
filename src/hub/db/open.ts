// Opening the hub's database, at start (server.ts) and in tests: DATABASE_URL unset → embedded PGlite under
// DATA_DIR/pglite; a postgresql:// URL → PostgreSQL through node-postgres. The same schema and migrations serve
// both. Not imported by the Next.js bundle (which only reads the open handle, client.ts).
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import type { SqlMigrationAwareDriverAdapterFactory } from '@prisma/driver-adapter-utils';
import { PrismaClient } from '~/generated/prisma/client';
import type { Db } from './client';
import { applyMigrations } from './schema-engine';

export type Database = {
  db: Db;
  adapter: SqlMigrationAwareDriverAdapterFactory;
  kind: 'pglite' | 'postgresql';
  /** Applies the committed migrations (idempotent); returns the names it applied. */
  migrate(): Promise<string[]>;
  close(): Promise<void>;
};

export async function openDatabase(opts: { url?: string; dataDir: string; poolSize?: number }): Promise<Database> {
  if (opts.url) {
    const { PrismaPg } = await import('@prisma/adapter-pg');
    // A short connection timeout turns "database unreachable" into a prompt error instead of a hang.
    const adapter = new PrismaPg({
      connectionString: opts.url,
      max: opts.poolSize ?? 20,
      connectionTimeoutMillis: 5000,
      idleTimeoutMillis: 30_000,
    });
    const db = new PrismaClient({ adapter });
    // Migrations get a pool of their own, closed afterwards: the schema engine holds a session advisory lock
    // while it migrates, and on a pooled connection that lives on, the lock would block every other hub.
    const migrate = async () => {
      const pg = await import('pg');
      const pool = new pg.default.Pool({ connectionString: opts.url, max: 2, connectionTimeoutMillis: 5000 });
      try {
        return await applyMigrations(new PrismaPg(pool));
      } finally {
        await pool.end();
      }
    };
    return { db, adapter, kind: 'postgresql', migrate, close: () => db.$disconnect() };
  }
  const { PGlite } = await import('@electric-sql/pglite');
  const { PrismaPGlite } = await import('pglite-prisma-adapter');
  const dir = path.join(opts.dataDir, 'pglite');
  mkdirSync(dir, { recursive: true }); // PGlite does not make parent folders
  const pglite = new PGlite(dir);
  await pglite.waitReady;
  const adapter = new PrismaPGlite(pglite);
  const db = new PrismaClient({ adapter });
  return {
    db,
    adapter,
    kind: 'pglite',
    migrate: () => applyMigrations(adapter),
    close: async () => {
      await db.$disconnect();
      await pglite.close();
    },
  };
}
