import { defineConfig } from 'prisma/config';

// The CLI is used only for `prisma generate` here; migrations run through src/hub/db/migrate.ts.
// DATABASE_URL may be unset (embedded PGlite), so the datasource URL gets a harmless fallback.
export default defineConfig({
  schema: 'prisma/schema.prisma',
  migrations: { path: 'prisma/migrations' },
  datasource: { url: process.env.DATABASE_URL ?? 'postgresql://localhost/capsul' },
});
