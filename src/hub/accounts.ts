import type { Db } from './db/client';

/** The account for an email, made on first use. Safe under concurrency (INSERT … ON CONFLICT DO NOTHING). */
export async function ensureAccount(db: Db, email: string) {
  await db.account.createMany({ data: [{ email }], skipDuplicates: true });
  return db.account.findUniqueOrThrow({ where: { email } });
}
