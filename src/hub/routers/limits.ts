// What accounts may hold (limits.ts), as admins set it: the default for everyone, and per account values that
// replace the default's. In every input a limit left out stays as it is, and null removes it (the default's:
// no limit; an account's: the default's holds again).
import { z } from 'zod';
import { fieldError } from '~/lib/trpc-errors';
import { ensureAccount } from '../accounts';
import type { Db } from '../db/client';
import { defaultLimits, effectiveLimits, LIMIT_NAMES, NO_USAGE, usageOf, type Limits } from '../limits';
import { adminProcedure, router } from '../trpc';
import { email } from './auth';

const limit = z.number().int().min(0).max(1_000_000_000).nullable().optional();
const values = { capsuls: limit, vcpus: limit, memoryMb: limit, diskGb: limit };

const OWN = { select: { capsuls: true, vcpus: true, memoryMb: true, diskGb: true } } as const;

/** Only the values given: left out stays as it is. */
function given(input: Partial<Record<(typeof LIMIT_NAMES)[number], number | null | undefined>>) {
  return Object.fromEntries(LIMIT_NAMES.filter((n) => input[n] !== undefined).map((n) => [n, input[n]])) as Partial<Limits>;
}

async function showAccount(db: Db, accountEmail: string) {
  const account = await db.account.findUnique({ where: { email: accountEmail }, select: { id: true, email: true, limits: OWN } });
  if (!account) throw fieldError('account', `no account has the email ${accountEmail}`, 'NOT_FOUND');
  const defaults = await defaultLimits(db);
  return { account: account.email, defaults, own: account.limits, limits: effectiveLimits(defaults, account.limits), usage: await usageOf(db, account.id) };
}

export const limitsRouter = router({
  /** The default limits, or one account's: its own values, the limits that hold for it, and what it holds. */
  show: adminProcedure.input(z.object({ account: email.optional() }).default({})).query(async ({ ctx, input }) => {
    if (input.account) return showAccount(ctx.db, input.account);
    const defaults = await defaultLimits(ctx.db);
    return { account: null, defaults, own: null, limits: defaults, usage: null };
  }),

  /** The default, and every account with limits of its own. */
  list: adminProcedure.query(async ({ ctx }) => {
    const [defaults, accounts] = await Promise.all([
      defaultLimits(ctx.db),
      ctx.db.accountLimits.findMany({ include: { account: { select: { email: true } } }, orderBy: { account: { email: 'asc' } } }),
    ]);
    const held = await ctx.db.capsul.groupBy({
      by: ['ownerId'],
      where: { ownerId: { in: accounts.map((a) => a.accountId) }, deletedAt: null },
      _count: { _all: true },
      _sum: { vcpus: true, memoryMb: true, diskGb: true },
    });
    return {
      defaults,
      accounts: accounts.map(({ account, accountId, capsuls, vcpus, memoryMb, diskGb }) => {
        const h = held.find((x) => x.ownerId === accountId);
        const usage = h ? { capsuls: h._count._all, vcpus: h._sum.vcpus ?? 0, memoryMb: h._sum.memoryMb ?? 0, diskGb: h._sum.diskGb ?? 0 } : NO_USAGE;
        const own = { capsuls, vcpus, memoryMb, diskGb };
        return { account: account.email, own, limits: effectiveLimits(defaults, own), usage };
      }),
    };
  }),

  /** Sets the default (no account) or one account's limits; an account is made on first use, as for a create. */
  set: adminProcedure.input(z.object({ account: email.optional(), ...values })).mutation(async ({ ctx, input }) => {
    const change = given(input);
    if (!input.account) {
      await ctx.db.defaultLimits.upsert({ where: { id: 1 }, create: { id: 1, ...change }, update: change });
      const defaults = await defaultLimits(ctx.db);
      return { account: null, defaults, own: null, limits: defaults, usage: null };
    }
    const account = await ensureAccount(ctx.db, input.account);
    await ctx.db.accountLimits.upsert({ where: { accountId: account.id }, create: { accountId: account.id, ...change }, update: change });
    return showAccount(ctx.db, account.email);
  }),

  /** One account back to the default limits. */
  clear: adminProcedure.input(z.object({ account: email })).mutation(async ({ ctx, input }) => {
    const account = await ctx.db.account.findUnique({ where: { email: input.account }, select: { id: true } });
    if (!account) throw fieldError('account', `no account has the email ${input.account}`, 'NOT_FOUND');
    const removed = await ctx.db.accountLimits.deleteMany({ where: { accountId: account.id } });
    return { account: input.account, cleared: removed.count > 0 };
  }),
});
