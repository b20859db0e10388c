// The BTCPay Server rail, through its Greenfield API with fetch (the npm clients add nothing over it): an
// invoice per top-up, and the store's webhook.
//
// The webhook's `BTCPay-Sig: sha256=<hex>` is an HMAC-SHA256 of the raw body with the webhook's secret,
// compared in constant time. Nothing time-bound is signed, so a delivery can be replayed at will; what makes
// that harmless is that the body is only a prompt: the hub fetches the invoice from Greenfield and acts on
// what BTCPay says the invoice is now, never on the body's claims, and a settled invoice is credited once,
// under the key `btcpay:<invoice id>`. So redeliveries, replays and events in any order all end the same:
//   Settled                      → credited once (the invoice's own amount, which must be the top-up's);
//   Expired, paid in part        → recorded `partial`, NOT credited: an admin checks the invoice in BTCPay and
//                                  credits what arrived by hand (a manual credit with a note);
//   New, paid in part so far     → recorded `partial` until it settles or expires;
//   Expired                      → recorded `expired`;  Invalid → recorded `invalid`;
//   New, Processing              → still pending (Processing: paid, waiting for confirmations).
// An invoice this hub did not make, or another store's event, is answered 200 and ignored (logged). A top-up
// whose invoice id was never stored (a stop at the wrong moment) is found by the paymentId in the metadata,
// once the invoice read back from BTCPay carries the same.
import { createHmac, timingSafeEqual } from 'node:crypto';
import { z } from 'zod';
import { log } from '~/lib/log';
import type { Db } from '../../db/client';
import { attachProviderRef, markPayment, paymentByRef, settlePayment, type Payment } from '../payments';
import type { BtcpayRail } from '../rails';
import { formatMinor, fromDecimal, toDecimal } from '../money';
import type { WebhookAnswer } from './webhook-answer';

const CALL_TIMEOUT_MS = 15_000;

/** A Greenfield call that failed: what BTCPay said, for the log and for the person's error. */
export class BtcpayError extends Error {
  constructor(
    message: string,
    readonly status?: number,
  ) {
    super(message);
  }
}

const invoiceData = z.object({
  id: z.string().min(1).max(255),
  checkoutLink: z.url({ protocol: /^https?$/ }).optional(),
  status: z.enum(['New', 'Processing', 'Expired', 'Invalid', 'Settled']),
  additionalStatus: z.string().optional().nullable(),
  amount: z.union([z.string(), z.number()]).transform(String),
  currency: z.string(),
  metadata: z.record(z.string(), z.unknown()).optional().nullable(),
});
export type BtcpayInvoice = z.infer<typeof invoiceData>;

async function greenfield(rail: BtcpayRail, path: string, init: { method: 'GET' | 'POST'; body?: unknown }): Promise<unknown> {
  const url = `${rail.baseUrl}/api/v1/stores/${encodeURIComponent(rail.storeId)}${path}`;
  let res: Response;
  try {
    res = await fetch(url, {
      method: init.method,
      headers: { authorization: `token ${rail.apiKey}`, accept: 'application/json', ...(init.body ? { 'content-type': 'application/json' } : {}) },
      body: init.body ? JSON.stringify(init.body) : undefined,
      signal: AbortSignal.timeout(CALL_TIMEOUT_MS),
    });
  } catch (err) {
    const cause = (err as Error & { cause?: Error }).cause;
    throw new BtcpayError(`BTCPay Server could not be reached: ${cause?.message ?? (err as Error).message}`);
  }
  const text = await res.text();
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw new BtcpayError(`BTCPay Server answered ${res.status} with something other than JSON`, res.status);
  }
  if (!res.ok) {
    // Greenfield errors: { code, message }, or a list of { path, message } for a bad request.
    const said = Array.isArray(body) ? body.map((e: { path?: string; message?: string }) => `${e.path ?? ''}: ${e.message ?? ''}`).join('; ') : (body as { message?: string })?.message;
    throw new BtcpayError(`BTCPay Server refused (${res.status}): ${said ?? text.slice(0, 200)}`, res.status);
  }
  return body;
}

/** The invoice for one top-up, in the billing currency; BTCPay sends the person back to the account page. */
export async function createBtcpayInvoice(rail: BtcpayRail, p: { payment: Payment; publicUrl: string; email?: string }): Promise<{ invoiceId: string; url: string }> {
  const { payment } = p;
  const body = await greenfield(rail, '/invoices', {
    method: 'POST',
    body: {
      amount: toDecimal(payment.amountMinor, payment.currency),
      currency: payment.currency,
      metadata: { orderId: payment.id, paymentId: payment.id, accountId: payment.accountId, itemDesc: 'Capsul balance top-up', ...(p.email ? { buyerEmail: p.email } : {}) },
      checkout: { redirectURL: `${p.publicUrl}/account/top-up?topUp=done`, redirectAutomatically: true },
    },
  });
  const invoice = invoiceData.parse(body);
  if (!invoice.checkoutLink) throw new BtcpayError('BTCPay Server made the invoice but gave no checkout link');
  return { invoiceId: invoice.id, url: invoice.checkoutLink };
}

export async function fetchBtcpayInvoice(rail: BtcpayRail, invoiceId: string): Promise<BtcpayInvoice> {
  return invoiceData.parse(await greenfield(rail, `/invoices/${encodeURIComponent(invoiceId)}`, { method: 'GET' }));
}

/** `sha256=<hex>` of the raw body, compared in constant time (after a length check: timingSafeEqual needs it). */
export function btcpaySignatureMatches(raw: Buffer, header: string | undefined, secret: string): boolean {
  if (!header) return false;
  const expected = Buffer.from(`sha256=${createHmac('sha256', Buffer.from(secret, 'utf8')).update(raw).digest('hex')}`);
  const given = Buffer.from(header.trim());
  return given.length === expected.length && timingSafeEqual(given, expected);
}

const webhookBody = z.object({
  type: z.string().max(100),
  deliveryId: z.string().max(255).optional(),
  isRedelivery: z.boolean().optional(),
  storeId: z.string().max(255).optional(),
  invoiceId: z.string().min(1).max(255).optional(),
  metadata: z.unknown().optional(),
});

// The invoice events; every other (payouts, payment requests…) is ignored.
const INVOICE_EVENTS = new Set([
  'InvoiceCreated',
  'InvoiceReceivedPayment',
  'InvoicePaymentSettled',
  'InvoiceProcessing',
  'InvoiceExpired',
  'InvoiceSettled',
  'InvoiceInvalid',
  'InvoiceExpiredPaidPartial',
  'InvoicePaidAfterExpiration',
]);

const ok = (outcome: string, extra: Record<string, unknown> = {}): WebhookAnswer => ({ status: 200, body: { received: true, outcome, ...extra } });

export async function handleBtcpayWebhook(db: Db, rail: BtcpayRail, raw: Buffer, signature: string | undefined, currency: string): Promise<WebhookAnswer> {
  if (!btcpaySignatureMatches(raw, signature, rail.webhookSecret)) {
    log.warn('btcpay webhook refused: its BTCPay-Sig does not match', { present: !!signature });
    return { status: 400, body: { error: 'signature verification failed' } };
  }
  let json: unknown;
  try {
    json = JSON.parse(raw.toString('utf8'));
  } catch {
    return { status: 400, body: { error: 'the body is not JSON' } };
  }
  const parsed = webhookBody.safeParse(json);
  if (!parsed.success) return { status: 400, body: { error: 'the body is not a BTCPay webhook event' } };
  const event = parsed.data;
  const fields = { type: event.type, deliveryId: event.deliveryId, isRedelivery: event.isRedelivery ?? false, invoiceId: event.invoiceId };
  if (!INVOICE_EVENTS.has(event.type) || !event.invoiceId) {
    log.info('btcpay webhook ignored: not an invoice event', fields);
    return ok('ignored');
  }
  if (event.storeId !== undefined && event.storeId !== rail.storeId) {
    log.warn('btcpay webhook ignored: another store\'s event', { ...fields, storeId: event.storeId });
    return ok('ignored');
  }
  const known = await paymentByRef(db, 'btcpay', event.invoiceId);
  // A top-up whose invoice id was never stored (the hub stopped between BTCPay's answer and storing it): the
  // body's metadata names it, and the invoice read back from BTCPay must say the same.
  const hinted = known ? null : orphanHint(event.metadata);
  const orphan = hinted ? await db.payment.findFirst({ where: { id: hinted, provider: 'btcpay', providerRef: null } }) : null;
  const payment = known ?? orphan;
  if (!payment) {
    log.warn('btcpay webhook ignored: no top-up started on this hub has this invoice', fields);
    return ok('unknown payment');
  }
  const about = { ...fields, paymentId: payment.id, accountId: payment.accountId };
  let invoice: BtcpayInvoice;
  try {
    invoice = await fetchBtcpayInvoice(rail, event.invoiceId);
  } catch (err) {
    // BTCPay delivers again after a failure: the invoice is read then.
    log.warn('btcpay webhook: the invoice could not be read back from BTCPay; answered 503 for a redelivery', { ...about, err });
    return { status: 503, body: { error: 'the invoice could not be read from BTCPay Server; deliver again later' } };
  }
  if (invoice.id !== event.invoiceId) {
    log.error('btcpay webhook: Greenfield answered with another invoice than asked for; nothing done', { ...about, answered: invoice.id });
    return { status: 503, body: { error: 'BTCPay Server answered with another invoice; deliver again later' } };
  }
  if (orphan) {
    if (invoice.metadata?.paymentId !== orphan.id || invoice.metadata?.accountId !== orphan.accountId) {
      log.warn('btcpay webhook ignored: the invoice does not belong to the top-up its event names', about);
      return ok('unknown payment');
    }
    await attachProviderRef(db, orphan.id, invoice.id);
    payment.providerRef = invoice.id;
  }
  return applyInvoice(db, payment, invoice, currency, about);
}

function orphanHint(metadata: unknown): string | null {
  const id = (metadata as { paymentId?: unknown } | null | undefined)?.paymentId;
  return typeof id === 'string' && z.uuid().safeParse(id).success ? id : null;
}

/** Brings the top-up in line with what BTCPay says its invoice is now. */
async function applyInvoice(db: Db, payment: Payment, invoice: BtcpayInvoice, currency: string, about: Record<string, unknown>): Promise<WebhookAnswer> {
  const state = { ...about, status: invoice.status, additionalStatus: invoice.additionalStatus ?? null };
  const partly = invoice.additionalStatus === 'PaidPartial';
  switch (invoice.status) {
    case 'Settled': {
      const refusal = mismatch(payment, invoice, currency);
      if (refusal) {
        log.error('btcpay payment not credited: the invoice is not what was asked for; an admin should look at it in BTCPay', { ...state, refusal });
        await markPayment(db, payment.id, 'invalid', `not credited: ${refusal}`);
        return ok('refused', { reason: refusal });
      }
      const over = invoice.additionalStatus === 'PaidOver';
      const { created, entryId } = await settlePayment(db, payment, {
        amountMinor: payment.amountMinor,
        currency,
        idempotencyKey: `btcpay:${invoice.id}`,
        note: `BTCPay invoice ${invoice.id}${over ? ' (paid over: the excess is not credited; an admin may credit it by hand)' : ''}`,
      });
      log.info(created ? 'btcpay payment credited' : 'btcpay payment already credited', { ...state, entryId, amountMinor: payment.amountMinor });
      return ok(created ? 'credited' : 'already credited');
    }
    case 'Expired': {
      const status = partly ? 'partial' : 'expired';
      const detail = partly
        ? 'the invoice expired paid only in part: not credited; an admin credits what arrived by hand after checking the invoice in BTCPay'
        : 'the invoice expired unpaid';
      const changed = await markPayment(db, payment.id, status, detail);
      log.info(`btcpay invoice ${status}`, { ...state, recorded: changed });
      return ok(changed ? status : 'already paid');
    }
    case 'Invalid': {
      const changed = await markPayment(db, payment.id, 'invalid', 'BTCPay marked the invoice invalid');
      log.info('btcpay invoice invalid', { ...state, recorded: changed });
      return ok(changed ? 'invalid' : 'already paid');
    }
    case 'New':
    case 'Processing': {
      if (partly) {
        const changed = await markPayment(db, payment.id, 'partial', 'paid in part so far: credited only once the invoice is paid in full and settles');
        log.info('btcpay invoice paid in part', { ...state, recorded: changed });
        return ok(changed ? 'partial' : 'already paid');
      }
      log.info('btcpay invoice not settled yet', state);
      return ok('waiting for payment');
    }
  }
}

/** Why a settled invoice is not this top-up, or null when it is exactly that. */
function mismatch(payment: Payment, invoice: BtcpayInvoice, currency: string): string | null {
  const metadataPayment = invoice.metadata?.paymentId;
  if (metadataPayment !== undefined && metadataPayment !== payment.id) return 'the invoice names another top-up';
  if (invoice.currency.toUpperCase() !== currency) return `invoiced in ${invoice.currency}, not ${currency}`;
  const amount = fromDecimal(invoice.amount, currency);
  if (amount === null) return `an amount of ${invoice.amount} is not a whole number of ${currency} minor units`;
  if (amount <= 0) return `an amount of ${invoice.amount} is not a payment`;
  if (amount !== payment.amountMinor) return `an invoice of ${formatMinor(amount, currency)} for a top-up of ${formatMinor(payment.amountMinor, currency)}`;
  return null;
}
