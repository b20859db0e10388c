// The Stripe rail: a Checkout Session per top-up, made with the real SDK, and its webhook. The SDK has no
// base-URL option, so STRIPE_API_BASE is given to it as host, port and protocol (rails.ts); a provider behind a
// private CA is trusted through NODE_EXTRA_CA_CERTS, which adds to the system's CAs rather than replacing them.
//
// The webhook is verified with the SDK's own check (`webhooks.constructEvent`) on the raw body, as it arrived:
// a body parsed and serialised again no longer matches its signature. What it does:
//   checkout.session.completed / async_payment_succeeded with payment_status "paid" → credited once, under the
//     key `stripe:<session id>` (a redelivery, a replay within the SDK's 5-minute tolerance, and the other of
//     the two events all find that credit and add nothing);
//   checkout.session.expired → the top-up is recorded expired; async_payment_failed → invalid;
//   refund.created / refund.updated, succeeded, of a credited top-up → taken from the balance once (a `refund`
//     entry under `stripe:refund:<refund id>`); one larger than the top-up, or in another currency, is not;
//   a session this hub did not start, or one whose amount or currency is not what was asked → not credited,
//     answered 200 (Stripe would only retry the same event) and logged for an admin;
//   any other event → 200, logged, nothing done.
// A signature that does not verify is answered 400 and nothing is read from the body.
import Stripe from 'stripe';
import { z } from 'zod';
import { log } from '~/lib/log';
import { processSingleton } from '~/lib/process-singleton';
import type { Db } from '../../db/client';
import { appendEntry } from '../ledger';
import { attachProviderRef, markPayment, paymentByRef, settlePayment, type Payment } from '../payments';
import type { StripeRail } from '../rails';
import { formatMinor } from '../money';
import type { WebhookAnswer } from './webhook-answer';

const clients = processSingleton('stripe-clients', () => new Map<string, Stripe>());

/** One SDK client per configuration (the SDK keeps its connections alive between calls). */
export function stripeClient(rail: StripeRail): Stripe {
  const key = `${rail.protocol}://${rail.host}:${rail.port}/${rail.secretKey}`;
  let client = clients.get(key);
  if (!client) {
    client = new Stripe(rail.secretKey, {
      host: rail.host,
      port: rail.port,
      protocol: rail.protocol,
      maxNetworkRetries: rail.maxNetworkRetries,
      timeout: 20_000,
      telemetry: false,
      appInfo: { name: 'Capsul' },
    });
    clients.set(key, client);
  }
  return client;
}

// What the hub reads of a session; the SDK does not check response shapes, so neither the API's answers nor
// the events are taken on trust beyond these fields.
const createdSession = z.object({ id: z.string().min(1).max(255), url: z.url({ protocol: /^https?$/ }) });
const eventSession = z.object({
  id: z.string().min(1).max(255),
  object: z.literal('checkout.session'),
  status: z.string().nullable().optional(),
  payment_status: z.string(),
  amount_total: z.number().nullable().optional(),
  currency: z.string().nullable().optional(),
  metadata: z.record(z.string(), z.string()).nullable().optional(),
});
type EventSession = z.infer<typeof eventSession>;

/** The Checkout Session for one top-up: one line of the chosen amount, in the billing currency. */
export async function createStripeCheckout(rail: StripeRail, p: { payment: Payment; publicUrl: string; email?: string }): Promise<{ sessionId: string; url: string }> {
  const { payment } = p;
  const session = await stripeClient(rail).checkout.sessions.create(
    {
      mode: 'payment',
      line_items: [
        {
          quantity: 1,
          price_data: { currency: payment.currency.toLowerCase(), unit_amount: payment.amountMinor, product_data: { name: 'Capsul balance top-up' } },
        },
      ],
      metadata: { paymentId: payment.id, accountId: payment.accountId },
      client_reference_id: payment.id,
      ...(p.email ? { customer_email: p.email } : {}),
      success_url: `${p.publicUrl}/account/top-up?topUp=done&session_id={CHECKOUT_SESSION_ID}`,
      cancel_url: `${p.publicUrl}/account/top-up?topUp=cancelled&payment=${payment.id}`,
    },
    // Retried by the SDK, or asked again for the same top-up: still one session.
    { idempotencyKey: `capsul-top-up-${payment.id}` },
  );
  const { id, url } = createdSession.parse(session);
  return { sessionId: id, url };
}

const ok = (outcome: string, extra: Record<string, unknown> = {}): WebhookAnswer => ({ status: 200, body: { received: true, outcome, ...extra } });

export async function handleStripeWebhook(db: Db, rail: StripeRail, raw: Buffer, signature: string | undefined, currency: string): Promise<WebhookAnswer> {
  let event: Stripe.Event;
  try {
    event = stripeClient(rail).webhooks.constructEvent(raw, signature ?? '', rail.webhookSecret);
  } catch (err) {
    log.warn('stripe webhook refused: its signature does not verify', { reason: (err as Error).message });
    return { status: 400, body: { error: 'signature verification failed' } };
  }
  const fields = { eventId: event.id, type: event.type };
  switch (event.type) {
    case 'checkout.session.completed':
    case 'checkout.session.async_payment_succeeded':
    case 'checkout.session.expired':
    case 'checkout.session.async_payment_failed':
      break;
    case 'refund.created':
    case 'refund.updated':
      return handleRefund(db, rail, event.data.object, currency, fields);
    default:
      log.info('stripe webhook ignored: not an event the hub acts on', fields);
      return ok('ignored');
  }
  const parsed = eventSession.safeParse(event.data.object);
  if (!parsed.success) {
    log.warn('stripe webhook ignored: the session in it is not one the hub can read', { ...fields, issues: parsed.error.issues.map((i) => i.path.join('.')) });
    return ok('ignored');
  }
  const session = parsed.data;
  const payment = await findPayment(db, session);
  if (!payment) {
    log.warn('stripe webhook ignored: no top-up started on this hub has this session', { ...fields, sessionId: session.id, metadata: session.metadata ?? null });
    return ok('unknown payment');
  }
  const about = { ...fields, sessionId: session.id, paymentId: payment.id, accountId: payment.accountId };
  if (event.type === 'checkout.session.expired') {
    const changed = await markPayment(db, payment.id, 'expired', 'the Checkout Session expired unpaid');
    log.info('stripe checkout expired', { ...about, recorded: changed });
    return ok(changed ? 'expired' : 'already paid');
  }
  if (event.type === 'checkout.session.async_payment_failed') {
    const changed = await markPayment(db, payment.id, 'invalid', 'the payment failed after the checkout (a delayed payment method)');
    log.info('stripe payment failed after checkout', { ...about, recorded: changed });
    return ok(changed ? 'failed' : 'already paid');
  }
  const { outcome, reason } = await creditPaidSession(db, payment, session, currency, about);
  return ok(outcome, reason ? { reason } : {});
}

type Outcome = { outcome: 'credited' | 'already credited' | 'refused' | 'waiting for payment'; reason?: string };

/** A session Stripe reports complete: credited once when it is paid and is exactly the top-up asked for. */
async function creditPaidSession(db: Db, payment: Payment, session: EventSession, currency: string, about: Record<string, unknown>): Promise<Outcome> {
  if (session.payment_status !== 'paid') {
    // A delayed method (a bank debit): checkout.session.async_payment_succeeded follows when it clears.
    log.info('stripe checkout completed, not yet paid', { ...about, paymentStatus: session.payment_status });
    return { outcome: 'waiting for payment' };
  }
  const refusal = mismatch(payment, session, currency);
  if (refusal) {
    log.error('stripe payment not credited: it is not what was asked for; an admin should look at it in Stripe', { ...about, refusal });
    await markPayment(db, payment.id, 'invalid', `not credited: ${refusal}`);
    return { outcome: 'refused', reason: refusal };
  }
  const { created, entryId } = await settlePayment(db, payment, {
    amountMinor: payment.amountMinor,
    currency,
    idempotencyKey: `stripe:${session.id}`,
    note: `Stripe Checkout ${session.id}`,
  });
  log.info(created ? 'stripe payment credited' : 'stripe payment already credited', { ...about, entryId, amountMinor: payment.amountMinor });
  return { outcome: created ? 'credited' : 'already credited' };
}

/**
 * The person back from Checkout (its success page carries the session id): the session is read from Stripe
 * itself, with the secret key, and a paid one is credited now, under the same key as its webhook, so the
 * balance does not wait for the webhook, and a webhook that never arrives (a misconfigured endpoint) loses
 * nothing. Only the account that started the top-up may confirm it; for any other the session does not exist.
 */
export async function confirmStripeCheckout(db: Db, rail: StripeRail, p: { accountId: string; sessionId: string }, currency: string): Promise<{ paymentId: string; status: Payment['status'] } | null> {
  const payment = await paymentByRef(db, 'stripe', p.sessionId);
  if (!payment || payment.accountId !== p.accountId) return null;
  if (payment.status !== 'paid') {
    const session = eventSession.parse(await stripeClient(rail).checkout.sessions.retrieve(p.sessionId));
    const about = { sessionId: session.id, paymentId: payment.id, accountId: payment.accountId, via: 'success page' };
    if (session.status === 'complete') await creditPaidSession(db, payment, session, currency, about);
  }
  const now = await db.payment.findUniqueOrThrow({ where: { id: payment.id }, select: { status: true } });
  return { paymentId: payment.id, status: now.status };
}

/**
 * Back from Stripe Checkout by its Cancel link: the session is expired at Stripe (so it cannot be paid later
 * from a tab left open) and the top-up marked expired, rather than left "waiting for payment" for the day
 * Stripe keeps a session open. If Stripe refuses because the session was paid meanwhile (another tab), the
 * top-up is left as it is: its webhook credits it. Only the account that started it may cancel it.
 */
export async function cancelStripeCheckout(db: Db, rail: StripeRail, p: { accountId: string; paymentId: string }): Promise<{ paymentId: string; status: Payment['status'] } | null> {
  const payment = await db.payment.findUnique({ where: { id: p.paymentId } });
  if (!payment || payment.accountId !== p.accountId || payment.provider !== 'stripe') return null;
  if (payment.status === 'pending' && payment.providerRef) {
    try {
      await stripeClient(rail).checkout.sessions.expire(payment.providerRef);
      await markPayment(db, payment.id, 'expired', 'left at the checkout');
    } catch (err) {
      log.info('stripe checkout not expired (paid meanwhile, or Stripe unreachable): left to its webhook', { paymentId: payment.id, reason: (err as Error).message });
    }
  }
  const now = await db.payment.findUniqueOrThrow({ where: { id: payment.id }, select: { status: true } });
  return { paymentId: payment.id, status: now.status };
}

const refundObject = z.object({
  id: z.string().min(1).max(255),
  object: z.literal('refund'),
  amount: z.number(),
  currency: z.string(),
  status: z.string().nullable().optional(),
  payment_intent: z.string().min(1).max(255).nullable().optional(),
});

/**
 * A refund made in Stripe (the dashboard, or its API) for a top-up's payment: once it has succeeded, the same
 * amount leaves the balance, once, as a `refund` entry under `stripe:refund:<refund id>`. The top-up is found
 * through Stripe: the Checkout Session of the refund's PaymentIntent, which must be one this hub made.
 */
async function handleRefund(db: Db, rail: StripeRail, object: unknown, currency: string, fields: Record<string, unknown>): Promise<WebhookAnswer> {
  const parsed = refundObject.safeParse(object);
  if (!parsed.success || !parsed.data.payment_intent) {
    log.warn('stripe refund ignored: not a refund of a payment the hub can read', fields);
    return ok('ignored');
  }
  const refund = parsed.data;
  const about = { ...fields, refundId: refund.id, paymentIntent: refund.payment_intent, refundStatus: refund.status ?? null };
  if (refund.status !== 'succeeded') {
    log.info('stripe refund not (yet) succeeded: nothing taken from the balance', about);
    return ok('waiting for refund');
  }
  const sessions = await stripeClient(rail).checkout.sessions.list({ payment_intent: refund.payment_intent!, limit: 1 });
  const sessionId = z.object({ data: z.array(z.object({ id: z.string() })) }).parse(sessions).data[0]?.id;
  const payment = sessionId ? await paymentByRef(db, 'stripe', sessionId) : null;
  if (!payment || payment.status !== 'paid') {
    log.warn('stripe refund ignored: it is not of a top-up credited on this hub', { ...about, sessionId: sessionId ?? null });
    return ok('unknown payment');
  }
  const refusal =
    refund.currency.toUpperCase() !== currency ? `refunded in ${refund.currency.toUpperCase()}, not ${currency}`
    : !Number.isSafeInteger(refund.amount) || refund.amount <= 0 ? `a refund of ${refund.amount} is not one`
    : refund.amount > payment.amountMinor ? `a refund of ${formatMinor(refund.amount, currency)} for a top-up of ${formatMinor(payment.amountMinor, currency)}`
    : null;
  if (refusal) {
    log.error('stripe refund not taken from the balance: it does not fit the top-up; an admin should look at it', { ...about, refusal });
    return ok('refused', { reason: refusal });
  }
  const { entry, created } = await appendEntry(db, {
    accountId: payment.accountId,
    kind: 'refund',
    amountMinor: -refund.amount,
    currency,
    idempotencyKey: `stripe:refund:${refund.id}`,
    actor: 'stripe',
    provider: 'stripe',
    providerRef: payment.providerRef,
    note: `Stripe refund ${refund.id} of Checkout ${payment.providerRef}`,
  });
  log.info(created ? 'stripe refund taken from the balance' : 'stripe refund already taken', { ...about, paymentId: payment.id, accountId: payment.accountId, entryId: entry.id, amountMinor: -refund.amount });
  return ok(created ? 'refunded' : 'already refunded');
}

/**
 * The top-up a session belongs to: by the session id stored when it was made; failing that (the hub stopped
 * between Stripe's answer and storing it), by the payment id the session carries, if that top-up has no
 * session yet. Its account must be the one the session names.
 */
async function findPayment(db: Db, session: EventSession): Promise<Payment | null> {
  const byRef = await paymentByRef(db, 'stripe', session.id);
  const paymentId = session.metadata?.paymentId;
  if (byRef) return byRef.id === paymentId || paymentId === undefined ? byRef : null;
  if (!paymentId || !z.uuid().safeParse(paymentId).success) return null;
  const orphan = await db.payment.findFirst({ where: { id: paymentId, provider: 'stripe', providerRef: null } });
  if (!orphan || orphan.accountId !== session.metadata?.accountId) return null;
  await attachProviderRef(db, orphan.id, session.id);
  return { ...orphan, providerRef: session.id };
}

/** Why what Stripe says was paid is not this top-up, or null when it is exactly that. */
function mismatch(payment: Payment, session: EventSession, currency: string): string | null {
  if (session.metadata?.accountId !== undefined && session.metadata.accountId !== payment.accountId) return 'the session names another account';
  const paidCurrency = (session.currency ?? '').toUpperCase();
  if (paidCurrency !== currency) return `paid in ${paidCurrency || 'no currency'}, not ${currency}`;
  const amount = session.amount_total ?? 0;
  if (!Number.isSafeInteger(amount) || amount <= 0) return `an amount of ${amount} is not a payment`;
  if (amount !== payment.amountMinor) return `${formatMinor(amount, currency)} paid for a top-up of ${formatMinor(payment.amountMinor, currency)}`;
  return null;
}
