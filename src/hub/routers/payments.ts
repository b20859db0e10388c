// Topping up, for a signed-in account: which rails the hub offers, a top-up (the checkout page to send the
// person to), and the account's own top-ups. These join the billing router (root.ts). The money moves only
// when a rail's webhook reports a payment (src/hub/billing/providers).
import { TRPCError } from '@trpc/server';
import { z } from 'zod';
import { env } from '~/env';
import { fieldError } from '~/lib/trpc-errors';
import { billingConfig } from '../billing/config';
import { paymentsOf } from '../billing/payments';
import { railsOn } from '../billing/rails';
import { RailFailure, topUp, TopUpRefusal } from '../billing/top-up';
import { accountProcedure } from '../trpc';

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
      if (err instanceof TopUpRefusal) throw fieldError(err.field, err.message, err.kind === 'off' ? 'PRECONDITION_FAILED' : 'BAD_REQUEST');
      if (err instanceof RailFailure) throw new TRPCError({ code: 'BAD_GATEWAY', message: err.message });
      throw err;
    }
  }),

  /** The account's own top-ups, newest first: asked, paid, expired, partial or refused. */
  payments: accountProcedure.query(async ({ ctx }) =>
    (await paymentsOf(ctx.db, ctx.account.id)).map((p) => ({
      id: p.id,
      provider: p.provider,
      amountMinor: p.amountMinor,
      currency: p.currency,
      status: p.status,
      detail: p.detail,
      createdAt: p.createdAt,
      paidAt: p.paidAt,
    })),
  ),
};
