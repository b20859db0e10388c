// The two history tables, as the raw SQL of rollups, retention and series names them: the same shape (a key,
// `step`, `at`, `seconds` and rates), different keys and columns. Identifiers only: never a request's text.
import { Prisma } from '~/generated/prisma/client';
import { CAPSUL_METRICS, HOST_METRICS } from '~/contract/usage';

export type UsageTable = { name: string; key: string; columns: readonly string[] };

export const CAPSUL_USAGE: UsageTable = { name: 'CapsulUsage', key: 'capsulId', columns: CAPSUL_METRICS };
export const HOST_USAGE: UsageTable = { name: 'HostUsage', key: 'hostId', columns: HOST_METRICS };
export const USAGE_TABLES = [CAPSUL_USAGE, HOST_USAGE];

export const ident = (name: string) => Prisma.raw(`"${name}"`);

/** `date_bin` of `at` into buckets of `step` seconds, aligned on whole UTC days. */
export const bucketOf = (step: number) => Prisma.sql`date_bin(make_interval(secs => ${step}::int), "at", TIMESTAMP '2000-01-01')`;

/** Each column's average over a group, weighted by the seconds each row covers. */
export const weightedAverages = (columns: readonly string[]) =>
  Prisma.join(columns.map((c) => Prisma.sql`sum(${ident(c)} * "seconds") / sum("seconds") AS ${ident(c)}`));
