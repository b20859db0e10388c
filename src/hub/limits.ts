// Limits per account: how many capsuls an account may hold at once, and how many vCPUs, how much memory (MiB)
// and disk (GiB) they may have between them. Capsuls not deleted count (a failed build counts until it is
// deleted). An admin sets a default for everyone (DefaultLimits) and, per account, values that replace it
// (AccountLimits); null is no limit.
//
// A create past a limit is refused before anything is written or any host is asked. The count and the
// create's rows are decided in one transaction that first locks the account's row: a second create for the
// same account waits at the lock until the first has committed, and its count then includes the first's
// capsul, so two creates at once cannot both take the last slot. With no limit set, a create takes no lock.
import { TRPCError } from '@trpc/server';
import type { Prisma } from '~/generated/prisma/client';
import { fieldError } from '~/lib/trpc-errors';
import type { Db } from './db/client';

export const LIMIT_NAMES = ['capsuls', 'vcpus', 'memoryMb', 'diskGb'] as const;
export type LimitName = (typeof LIMIT_NAMES)[number];
export type Limits = Record<LimitName, number | null>;
export type Usage = Record<LimitName, number>;

export const NO_LIMITS: Limits = { capsuls: null, vcpus: null, memoryMb: null, diskGb: null };
export const NO_USAGE: Usage = { capsuls: 0, vcpus: 0, memoryMb: 0, diskGb: 0 };

type Reader = Db | Prisma.TransactionClient;

function pick(row: Partial<Limits> | null | undefined): Limits {
  return { capsuls: row?.capsuls ?? null, vcpus: row?.vcpus ?? null, memoryMb: row?.memoryMb ?? null, diskGb: row?.diskGb ?? null };
}

export async function defaultLimits(db: Reader): Promise<Limits> {
  return pick(await db.defaultLimits.findUnique({ where: { id: 1 } }));
}

/** The limits that hold for an account: its own values where it has them, the default's elsewhere. */
export function effectiveLimits(defaults: Limits, own: Partial<Limits> | null | undefined): Limits {
  const mine = pick(own);
  return { capsuls: mine.capsuls ?? defaults.capsuls, vcpus: mine.vcpus ?? defaults.vcpus, memoryMb: mine.memoryMb ?? defaults.memoryMb, diskGb: mine.diskGb ?? defaults.diskGb };
}

export async function usageOf(db: Reader, accountId: string): Promise<Usage> {
  const held = await db.capsul.aggregate({ where: { ownerId: accountId, deletedAt: null }, _count: { _all: true }, _sum: { vcpus: true, memoryMb: true, diskGb: true } });
  return { capsuls: held._count._all, vcpus: held._sum.vcpus ?? 0, memoryMb: held._sum.memoryMb ?? 0, diskGb: held._sum.diskGb ?? 0 };
}

export const hasLimits = (limits: Limits) => LIMIT_NAMES.some((n) => limits[n] !== null);

/** What one more capsul adds, and the field of the request that chose it (the size, or vCPUs… themselves). */
export type Ask = { vcpus: number; memoryMb: number; diskGb: number; bySize: boolean };

const UNITS: Record<Exclude<LimitName, 'capsuls'>, (n: number) => string> = {
  vcpus: (n) => `${n} vCPU${n === 1 ? '' : 's'}`,
  memoryMb: (n) => `${n} MiB of memory`,
  diskGb: (n) => `${n} GiB of disk`,
};

/** The refusal of a create that would take the account past one of its limits, naming that limit; or none. */
export function overLimit(limits: Limits, usage: Usage, ask: Ask): TRPCError | undefined {
  if (limits.capsuls !== null && usage.capsuls + 1 > limits.capsuls) {
    return new TRPCError({
      code: 'FORBIDDEN',
      message: `You have ${usage.capsuls} of ${limits.capsuls} capsul${limits.capsuls === 1 ? '' : 's'} allowed; delete one first, or ask an admin to raise your limit.`,
    });
  }
  for (const name of ['vcpus', 'memoryMb', 'diskGb'] as const) {
    const allowed = limits[name];
    if (allowed === null || usage[name] + ask[name] <= allowed) continue;
    const unit = UNITS[name];
    return fieldError(
      ask.bySize ? 'size' : name,
      `you have ${usage[name]} of ${unit(allowed)} allowed, and this capsul needs ${unit(ask[name])} more; pick a smaller size, delete a capsul, or ask an admin to raise your limit`,
      'FORBIDDEN',
    );
  }
  return undefined;
}

/**
 * Writes a create's rows (`write`) only if the account stays within `limits` with `ask` added; refused
 * otherwise, with nothing written. See the top of this file for why the account's row is locked.
 */
export async function withinLimits(db: Db, accountId: string, limits: Limits, ask: Ask, write: (tx: Reader) => Promise<unknown>): Promise<void> {
  if (!hasLimits(limits)) {
    await write(db);
    return;
  }
  await db.$transaction(async (tx) => {
    await tx.$queryRaw`SELECT 1 FROM "Account" WHERE id = ${accountId} FOR UPDATE`;
    const refusal = overLimit(limits, await usageOf(tx, accountId), ask);
    if (refusal) throw refusal;
    await write(tx);
  });
}
