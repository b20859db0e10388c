// Billing (src/hub/billing): an account's own balance, rate and ledger; for admins the prices, credits and
// debits, and each account's multiplier and exemption. An account reads only its own ledger (an admin may
// name another); only admins credit, debit or change prices. Every procedure is refused while billing is off.
import { randomUUID } from 'node:crypto';
import { TRPCError } from '@trpc/server';
import { z } from 'zod';
import { catalogId } from '~/contract/ids';
import { fieldError } from '~/lib/trpc-errors';
import { ensureAccount } from '../accounts';
import { MAX_MULTIPLIER, setBillingSettings } from '../billing/account-settings';
import { billingConfig } from '../billing/config';
import { adjustBalance, balances, LedgerRefusal } from '../billing/ledger';
import { currentPrices, MAX_MONTHLY_MINOR, setPrice } from '../billing/prices';
import { billingSummary } from '../billing/summary';
import type { Db } from '../db/client';
import { actorProcedure, adminProcedure, type Actor } from '../trpc';
import { email } from './auth';

export function needBilling() {
  const config = billingConfig();
  if (!config) throw new TRPCError({ code: 'PRECONDITION_FAILED', message: 'Billing is off on this hub (BILLING_CURRENCY is not set).' });
  return config;
}

/** A refusal from the billing module, as the one way the API refuses a field. */
export async function refusing<T>(work: Promise<T>): Promise<T> {
  try {
    return await work;
  } catch (err) {
    if (err instanceof LedgerRefusal) throw fieldError(err.field, err.message);
    throw err;
  }
}

async function accountByEmail(db: Db, address: string) {
  const account = await db.account.findUnique({ where: { email: address }, select: { id: true, email: true } });
  if (!account) throw fieldError('account', `no account has the email ${address}`, 'NOT_FOUND');
  return account;
}

/** Whose billing a call reads: one's own; an admin (or the admin token) may name any account. */
async function whose(db: Db, actor: Actor, named: string | undefined) {
  if (named) {
    if (!actor.isAdmin && named !== actor.email) throw new TRPCError({ code: 'FORBIDDEN', message: "only admins read another account's billing" });
    return accountByEmail(db, named);
  }
  if (!actor.accountId || !actor.email) throw fieldError('account', 'name the account (the admin token has none of its own)');
  return { id: actor.accountId, email: actor.email };
}

const PAGE = 50;

/** Joined with the payment procedures (routers/payments.ts) as the `billing` router in root.ts. */
export const billingProcedures = {
  /** Whether billing is on, and in which currency: the console shows its billing parts only when it is. */
  status: actorProcedure.query(() => {
    const config = billingConfig();
    return config ? { enabled: true as const, currency: config.currency } : { enabled: false as const, currency: null };
  }),

  /** Balance, the rate now, when it runs out, and one page of the ledger, newest first. */
  account: actorProcedure
    .input(z.object({ account: email.optional(), before: z.uuid().optional(), limit: z.number().int().min(1).max(200).default(PAGE) }).default({ limit: PAGE }))
    .query(async ({ ctx, input }) => {
      needBilling();
      const account = await whose(ctx.db, ctx.actor, input.account);
      const cursor = input.before ? await ctx.db.ledgerEntry.findFirst({ where: { id: input.before, accountId: account.id }, select: { createdAt: true, id: true } }) : null;
      const [summary, entries, steps] = await Promise.all([
        billingSummary(ctx.db, account.id),
        ctx.db.ledgerEntry.findMany({
          where: { accountId: account.id, ...(cursor ? { OR: [{ createdAt: { lt: cursor.createdAt } }, { createdAt: cursor.createdAt, id: { lt: cursor.id } }] } : {}) },
          orderBy: [{ createdAt: 'desc' }, { id: 'desc' }],
          take: input.limit + 1,
        }),
        ctx.db.billingStep.findMany({ where: { accountId: account.id }, orderBy: { createdAt: 'desc' }, take: 20 }),
      ]);
      const page = entries.slice(0, input.limit);
      const names = new Map(
        (await ctx.db.capsul.findMany({ where: { id: { in: [...new Set(page.map((e) => e.capsulId).filter((id): id is string => !!id))] } }, select: { id: true, name: true } })).map((c) => [c.id, c.name]),
      );
      const { unitsPerHour: _, ...shown } = summary;
      return {
        account: account.email,
        ...shown,
        steps: steps.map((s) => ({ step: s.step, detail: s.detail, createdAt: s.createdAt })),
        ledger: page.map((e) => ({
          id: e.id,
          kind: e.kind,
          amountMinor: e.amountMinor,
          createdAt: e.createdAt,
          capsulId: e.capsulId,
          capsulName: e.capsulId ? (names.get(e.capsulId) ?? null) : null,
          usageFrom: e.usageFrom,
          usageUntil: e.usageUntil,
          note: e.note,
          provider: e.provider,
          // Who made an entry is for admins; a member sees what it was.
          actor: ctx.actor.isAdmin ? e.actor : null,
        })),
        nextBefore: entries.length > input.limit ? page.at(-1)!.id : null,
      };
    }),

  /** The price of each size now, and changes set for later. Anyone signed in may read them. */
  prices: actorProcedure.query(async ({ ctx }) => ({ currency: needBilling().currency, sizes: await currentPrices(ctx.db) })),

  /** A new monthly price for a size, from now (or a later moment) on; never backwards. */
  setPrice: adminProcedure
    .input(z.object({ size: catalogId, monthlyMinor: z.number().int().min(0).max(MAX_MONTHLY_MINOR), from: z.date().optional() }))
    .mutation(async ({ ctx, input }) => {
      needBilling();
      const price = await refusing(setPrice(ctx.db, { sizeId: input.size, monthlyMinor: input.monthlyMinor, from: input.from, actor: ctx.actor.label }));
      return { size: price.sizeId, monthlyMinor: price.monthlyMinor, from: price.from, setBy: price.setBy };
    }),

  /**
   * An admin's credit (positive) or debit (negative), with a note. The console sends one key per form, so a
   * form sent twice credits once; without one, a fresh key.
   */
  adjust: adminProcedure
    .input(
      z.object({
        account: email,
        amountMinor: z.number().int().min(-2_000_000_000).max(2_000_000_000).refine((n) => n !== 0, 'must not be zero'),
        note: z.string().trim().min(1, 'say why, in a note').max(500),
        idempotencyKey: z.uuid().optional(),
      }),
    )
    .mutation(async ({ ctx, input }) => {
      needBilling();
      const account = await accountByEmail(ctx.db, input.account);
      const { entry, created } = await refusing(
        adjustBalance(ctx.db, { accountId: account.id, amountMinor: input.amountMinor, note: input.note, actor: ctx.actor.label, idempotencyKey: `admin:${input.idempotencyKey ?? randomUUID()}` }),
      );
      const after = (await balances(ctx.db, [account.id])).get(account.id) ?? 0;
      return { account: account.email, entryId: entry.id, kind: entry.kind, amountMinor: entry.amountMinor, created, balanceMinor: after };
    }),

  /** An account's multiplier (integer percent) and exemption; left out stays as it is. */
  setAccount: adminProcedure
    .input(z.object({ account: email, multiplierPercent: z.number().int().min(0).max(MAX_MULTIPLIER).optional(), exempt: z.boolean().optional() }))
    .mutation(async ({ ctx, input }) => {
      needBilling();
      const account = await ensureAccount(ctx.db, input.account);
      const settings = await refusing(setBillingSettings(ctx.db, { accountId: account.id, multiplierPercent: input.multiplierPercent, exempt: input.exempt, actor: ctx.actor.label }));
      return { account: account.email, ...settings };
    }),

  /** Every account with its balance, multiplier, exemption and what is under way at zero. */
  accounts: adminProcedure.query(async ({ ctx }) => {
    needBilling();
    const accounts = await ctx.db.account.findMany({ orderBy: { email: 'asc' }, select: { id: true, email: true, billing: true } });
    const sums = await balances(ctx.db, accounts.map((a) => a.id));
    return accounts.map((a) => ({
      account: a.email,
      balanceMinor: sums.get(a.id) ?? 0,
      multiplierPercent: a.billing?.multiplierPercent ?? 100,
      exempt: a.billing?.exempt ?? false,
      zeroSince: a.billing?.zeroSince ?? null,
      stoppedAt: a.billing?.stoppedAt ?? null,
      deletedAt: a.billing?.deletedAt ?? null,
    }));
  }),
};
