// Prisma's own schema engine, compiled to WebAssembly, driven through a driver adapter. The Prisma CLI
// would download a native engine, which this project never does (see docs/ARCHITECTURE.md, "Database").
import { readFile, readdir } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import {
  bindMigrationAwareSqlAdapterFactory,
  type SqlMigrationAwareDriverAdapterFactory,
} from '@prisma/driver-adapter-utils';
import type { MigrationList, SchemaEngine } from '@prisma/schema-engine-wasm';

const require = createRequire(import.meta.url);
export const migrationsDir = path.resolve(process.cwd(), 'prisma/migrations');
export const schemaFile = path.resolve(process.cwd(), 'prisma/schema.prisma');

type EngineModule = typeof import('@prisma/schema-engine-wasm');
let engineModule: Promise<EngineModule> | undefined;

// The package's entry imports the .wasm file as an ES module, which Node 20 cannot do without a flag, so the
// glue module is loaded and given the instantiated WebAssembly by hand.
function loadEngineModule(): Promise<EngineModule> {
  engineModule ??= (async () => {
    const gluePath = require.resolve('@prisma/schema-engine-wasm/schema_engine_bg');
    const glue = await import(pathToFileURL(gluePath).href);
    const bytes = await readFile(path.join(path.dirname(gluePath), 'schema_engine_bg.wasm'));
    const { instance } = await WebAssembly.instantiate(bytes, { './schema_engine_bg.js': glue });
    glue.__wbg_set_wasm(instance.exports);
    (instance.exports.__wbindgen_start as () => void)();
    return glue as EngineModule;
  })();
  return engineModule;
}

export async function openSchemaEngine(
  adapter: SqlMigrationAwareDriverAdapterFactory,
  schema?: string,
): Promise<SchemaEngine> {
  const { SchemaEngine } = await loadEngineModule();
  const datamodel = schema ?? (await readFile(schemaFile, 'utf8'));
  return SchemaEngine.new(
    { datamodels: [[schemaFile, datamodel]] },
    () => {},
    bindMigrationAwareSqlAdapterFactory(adapter),
  );
}

/** The committed migrations, in the shape the engine takes. */
export async function readMigrations(): Promise<MigrationList> {
  const names = (await readdir(migrationsDir, { withFileTypes: true }))
    .filter((e) => e.isDirectory())
    .map((e) => e.name)
    .sort();
  const lockPath = path.join(migrationsDir, 'migration_lock.toml');
  return {
    baseDir: migrationsDir,
    lockfile: { path: 'migration_lock.toml', content: await readFile(lockPath, 'utf8').catch(() => null) },
    shadowDbInitScript: '',
    migrationDirectories: await Promise.all(
      names.map(async (name) => ({
        path: name,
        migrationFile: {
          path: 'migration.sql',
          content: { tag: 'ok' as const, value: await readFile(path.join(migrationsDir, name, 'migration.sql'), 'utf8') },
        },
      })),
    ),
  };
}

/** `prisma migrate deploy`: applies the committed migrations that the database lacks; idempotent. */
export async function applyMigrations(adapter: SqlMigrationAwareDriverAdapterFactory): Promise<string[]> {
  const engine = await openSchemaEngine(adapter);
  try {
    const out = await engine.applyMigrations({
      migrationsList: await readMigrations(),
      filters: { externalTables: [], externalEnums: [] },
    });
    return out.appliedMigrationNames;
  } finally {
    engine.free();
  }
}
