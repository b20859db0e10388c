// A top-up asked for: checked against the rail and the configured bounds, recorded (a Payment row, before the
// rail is asked, so even a top-up the rail never answered is on record), then handed to the rail, whose
// checkout page the person is sent to. The balance changes only when the rail's webhook reports the payment.
import { env } from '~/env';
import { log } from '~/lib/log';
import type { Db } from '../db/client';
import { billingConfig } from './config';
import { attachProviderRef, markPayment, startPayment } from './payments';
import { createBtcpayInvoice } from './providers/btcpay';
import { formatMinor } from './money';
import { createStripeCheckout } from './providers/stripe';
import { btcpayRail, RAIL_LABEL, stripeRail, type RailName } from './rails';

/** A top-up refused before anything was asked of a rail; `field` names the input at fault. */
export class TopUpRefusal extends Error {
  constructor(
    readonly field: 'provider' | 'amountMinor',
    message: string,
    readonly kind: 'off' | 'bounds' | 'busy' = 'off',
  ) {
    super(message);
  }
}

// Each top-up asks the rail for a checkout with the hub's own key: an account may leave this many unpaid in an
// hour, which no person needs and which keeps a script from making the hub flood the provider.
export const MAX_PENDING_PER_HOUR = 20;

/** The rail was asked and did not give a checkout: recorded `invalid` on the top-up, with its reason. */
export class RailFailure extends Error {}

export async function topUp(db: Db, p: { accountId: string; email: string; actor: string; provider: RailName; amountMinor: number }): Promise<{ paymentId: string; url: string }> {
  const e = env();
  const billing = billingConfig(e);
  if (!billing) throw new TopUpRefusal('provider', 'billing is off on this hub: there is no balance to top up');
  const rails = { stripe: stripeRail(e), btcpay: btcpayRail(e) };
  if (!rails[p.provider]) throw new TopUpRefusal('provider', `${RAIL_LABEL[p.provider]} are not set up on this hub; ask an admin, who can also credit a cash or bank payment by hand`);
  const { currency } = billing;
  if (p.amountMinor < e.TOP_UP_MIN_MINOR || p.amountMinor > e.TOP_UP_MAX_MINOR) {
    throw new TopUpRefusal('amountMinor', `a top-up is between ${formatMinor(e.TOP_UP_MIN_MINOR, currency)} and ${formatMinor(e.TOP_UP_MAX_MINOR, currency)}`, 'bounds');
  }
  const since = new Date(Date.now() - 3_600_000);
  const waiting = await db.payment.count({ where: { accountId: p.accountId, status: 'pending', createdAt: { gte: since } } });
  if (waiting >= MAX_PENDING_PER_HOUR) {
    throw new TopUpRefusal('provider', `you have ${waiting} top-ups waiting for payment from the last hour; pay one of them or try again later`, 'busy');
  }
  const payment = await startPayment(db, { accountId: p.accountId, provider: p.provider, amountMinor: p.amountMinor, currency, actor: p.actor });
  const about = { paymentId: payment.id, accountId: p.accountId, provider: p.provider, amountMinor: p.amountMinor };
  try {
    const made =
      p.provider === 'stripe'
        ? await createStripeCheckout(rails.stripe!, { payment, publicUrl: e.PUBLIC_URL, email: p.email }).then((s) => ({ ref: s.sessionId, url: s.url }))
        : await createBtcpayInvoice(rails.btcpay!, { payment, publicUrl: e.PUBLIC_URL, email: p.email }).then((i) => ({ ref: i.invoiceId, url: i.url }));
    await attachProviderRef(db, payment.id, made.ref);
    log.info('top-up started', { ...about, providerRef: made.ref });
    return { paymentId: payment.id, url: made.url };
  } catch (err) {
    const reason = (err as Error).message;
    log.error('top-up failed: the rail gave no checkout', { ...about, err });
    await markPayment(db, payment.id, 'invalid', `the rail gave no checkout: ${reason}`).catch((e2: unknown) => log.error('recording the failed top-up failed', { ...about, err: e2 }));
    throw new RailFailure(`${RAIL_LABEL[p.provider]} could not start the payment just now; nothing was charged. Try again in a moment.`);
  }
}
