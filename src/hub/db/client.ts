// The hub's one database handle, shared by everything in the process that reads or writes (set at start by
// the hub, see open.ts). Imported by the Next.js bundle too, so it knows nothing of drivers or migrations.
import type { PrismaClient } from '~/generated/prisma/client';
import { processSingleton } from '~/lib/process-singleton';
import type { Database } from './open';

export type Db = InstanceType<typeof PrismaClient>;

// One handle per process, shared by the custom server (src/main.ts) and the Next.js bundle.
const holder = processSingleton('database', () => ({ current: undefined as Database | undefined }));

export function setDatabase(database: Database): void {
  holder.current = database;
}

export function getDatabase(): Database {
  if (!holder.current) throw new Error('the database is not open (the hub opens it at start)');
  return holder.current;
}

export function db(): Db {
  return getDatabase().db;
}
