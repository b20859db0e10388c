// An in-process hub database for tests: PGlite in a temporary folder, or a fresh PostgreSQL database, with
// the committed migrations applied by the same code the hub runs at start.
import { mkdtemp } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { openDatabase, type Database } from '~/hub/db/open';
import { seedCatalogs } from '~/hub/db/seed';
import { createTestDatabase } from './postgres';

export type TestDb = Database & { drop(): Promise<void> };

export async function openTestDatabase(kind: 'pglite' | 'postgresql'): Promise<TestDb> {
  if (kind === 'pglite') {
    const dataDir = await mkdtemp(path.join(os.tmpdir(), 'capsul-pglite-'));
    const database = await openDatabase({ dataDir });
    await database.migrate();
    await seedCatalogs(database.db);
    return { ...database, drop: () => database.close() };
  }
  const pg = await createTestDatabase();
  const database = await openDatabase({ url: pg.url, dataDir: os.tmpdir(), poolSize: 30 });
  await database.migrate();
  await seedCatalogs(database.db);
  return {
    ...database,
    drop: async () => {
      await database.close();
      await pg.drop();
    },
  };
}
