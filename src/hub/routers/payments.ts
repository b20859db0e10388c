// Topping up, for a signed-in account: which rails the hub offers, a top-up (the checkout page to send the
// person to), and the account's own top-ups. These join the billing router (root.ts). The money moves only
// when a rail's webhook reports a payment (src/hub/billing/providers).
import { TRPCError } from '@trpc/server';
import { z } from 'zod';
import { env } from '~/env';
import { log } from '~/lib/log';
import { fieldError } from '~/lib/trpc-errors';
import { billingConfig } from '../billing/config';
import { paymentsOf, type Payment } from '../billing/payments';
import { cancelStripeCheckout, confirmStripeCheckout } from '../billing/providers/stripe';
import { RAIL_LABEL, railsOn, stripeRail } from '../billing/rails';
import { RailFailure, topUp, TopUpRefusal } from '../billing/top-up';
import { accountProcedure, adminProcedure } from '../trpc';
import { email } from './auth';

// The hard bounds of the input; the configured ones (TOP_UP_MIN_MINOR, TOP_UP_MAX_MINOR) are checked inside
// them, with a sentence naming the amounts in the billing currency.
const topUpInput = z.object({
  provider: z.enum(['stripe', 'btcpay']),
  amountMinor: z.number().int('must be a whole number of minor units (cents)').positive('must be more than nothing').max(1_000_000_000),
});

export const paymentProcedures = {
  /** The rails this hub offers, its currency, and the top-up bounds (for the top-up form). */
  rails: accountProcedure.query(() => {
    const e = env();
    const billing = billingConfig(e);
    return { currency: billing?.currency ?? null, rails: billing ? railsOn(e) : [], minMinor: e.TOP_UP_MIN_MINOR, maxMinor: e.TOP_UP_MAX_MINOR };
  }),

  /** Starts a top-up; answers the rail's checkout page (Stripe Checkout, the BTCPay invoice). */
  topUp: accountProcedure.input(topUpInput).mutation(async ({ ctx, input }) => {
    try {
      return await topUp(ctx.db, { accountId: ctx.account.id, email: ctx.account.email, actor: ctx.actor.label, ...input });
    } catch (err) {
      if (err instanceof TopUpRefusal) throw fieldError(err.field, err.message, { off: 'PRECONDITION_FAILED' as const, bounds: 'BAD_REQUEST' as const, busy: 'TOO_MANY_REQUESTS' as const }[err.kind]);
      if (err instanceof RailFailure) throw new TRPCError({ code: 'BAD_GATEWAY', message: err.message });
      throw err;
    }
  }),

  /**
   * Back from Stripe Checkout (the success page's session_id): the session is read from Stripe and a paid one
   * credited now, once, whether or not its webhook has arrived. Answers the top-up's status.
   */
  confirmTopUp: accountProcedure.input(z.object({ sessionId: z.string().regex(/^cs_\w{1,250}$/, 'must be a Checkout Session id (cs_…)') })).mutation(async ({ ctx, input }) => {
    const e = env();
    const billing = billingConfig(e);
    const rail = stripeRail(e);
    if (!billing || !rail) throw fieldError('sessionId', `${RAIL_LABEL.stripe} are not set up on this hub`, 'PRECONDITION_FAILED');
    let confirmed: Awaited<ReturnType<typeof confirmStripeCheckout>>;
    try {
      confirmed = await confirmStripeCheckout(ctx.db, rail, { accountId: ctx.account.id, sessionId: input.sessionId }, billing.currency);
    } catch (err) {
      log.warn('confirming a Stripe checkout failed', { sessionId: input.sessionId, err });
      throw new TRPCError({ code: 'BAD_GATEWAY', message: 'Stripe could not be asked about this payment just now; your balance updates when Stripe reports it.' });
    }
    if (!confirmed) throw fieldError('sessionId', 'no top-up of yours has this checkout', 'NOT_FOUND');
    return confirmed;
  }),

  /** Back from Stripe Checkout's Cancel: that checkout is closed at Stripe and the top-up marked expired. */
  cancelTopUp: accountProcedure.input(z.object({ paymentId: z.string().uuid('must be a top-up id') })).mutation(async ({ ctx, input }) => {
    const rail = stripeRail(env());
    if (!billingConfig(env()) || !rail) throw fieldError('paymentId', `${RAIL_LABEL.stripe} are not set up on this hub`, 'PRECONDITION_FAILED');
    const cancelled = await cancelStripeCheckout(ctx.db, rail, { accountId: ctx.account.id, paymentId: input.paymentId });
    if (!cancelled) throw fieldError('paymentId', 'no card top-up of yours has this id', 'NOT_FOUND');
    return cancelled;
  }),

  /** The account's own top-ups, newest first: asked, paid, expired, partial or refused. */
  payments: accountProcedure.query(async ({ ctx }) => (await paymentsOf(ctx.db, ctx.account.id)).map(shown)),

  /**
   * For admins: every account's top-ups, newest first, optionally of one status or one account, with the
   * rail's reference. `status: 'partial'` lists the BTCPay invoices paid in part, which an admin checks in
   * BTCPay and credits by hand (billing.adjust, with the invoice in the note).
   */
  allPayments: adminProcedure
    .input(z.object({ status: z.enum(['pending', 'paid', 'expired', 'partial', 'invalid']).optional(), account: email.optional(), limit: z.number().int().min(1).max(500).default(100) }).default({ limit: 100 }))
    .query(async ({ ctx, input }) => {
      const rows = await ctx.db.payment.findMany({
        where: { ...(input.status ? { status: input.status } : {}), ...(input.account ? { account: { email: input.account } } : {}) },
        orderBy: { createdAt: 'desc' },
        take: input.limit,
        include: { account: { select: { email: true } } },
      });
      return rows.map((p) => ({ ...shown(p), account: p.account.email, providerRef: p.providerRef, actor: p.actor }));
    }),
};

function shown(p: Payment) {
  return { id: p.id, provider: p.provider, amountMinor: p.amountMinor, currency: p.currency, status: p.status, detail: p.detail, createdAt: p.createdAt, paidAt: p.paidAt };
}
