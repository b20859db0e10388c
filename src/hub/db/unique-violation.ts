/** Whether a database error is the unique index `index` refusing a row (Prisma and its raw queries name it
 * in the message or in the driver's error they carry). */
export function violatesUnique(err: unknown, index: string): boolean {
  const e = err as { message?: unknown; meta?: unknown } | null;
  return `${String(e?.message ?? '')} ${JSON.stringify(e?.meta ?? null)}`.includes(index);
}
