// The rails' webhooks on the hub's HTTPS port: POST /api/billing/stripe/webhook and
// /api/billing/btcpay/webhook. Served by the hub's own server (server.ts), like /api/trpc, rather than by a
// Next.js route handler: the signatures are over the exact bytes sent, and here the body is read straight off
// the socket, never parsed or re-encoded on the way; the route exists without a Next.js build; and it sits
// behind the same security headers and graceful stop as the API. No cookie or CSRF check: a webhook proves
// itself by its signature alone (providers/stripe.ts, providers/btcpay.ts).
import type { IncomingMessage, ServerResponse } from 'node:http';
import { env } from '~/env';
import { log } from '~/lib/log';
import { counter } from '~/lib/metrics';
import type { Db } from '../db/client';
import { billingConfig } from './config';
import { handleBtcpayWebhook } from './providers/btcpay';
import { handleStripeWebhook } from './providers/stripe';
import type { WebhookAnswer } from './providers/webhook-answer';
import { btcpayRail, RAIL_LABEL, stripeRail, type RailName } from './rails';

export const BILLING_WEBHOOK_PREFIX = '/api/billing/';
export const WEBHOOK_PATHS: Record<RailName, string> = { stripe: '/api/billing/stripe/webhook', btcpay: '/api/billing/btcpay/webhook' };

// Events are a few kilobytes; a body past this is not one.
const MAX_BODY = 512 * 1024;

class TooLarge extends Error {}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    if (Number(req.headers['content-length'] ?? 0) > MAX_BODY) return reject(new TooLarge());
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY) {
        req.off('data', onData);
        reject(new TooLarge());
        return;
      }
      chunks.push(chunk);
    };
    req.on('data', onData);
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

const webhooksTotal = counter('capsul_payment_webhooks_total', "Payment rails' webhooks received, by rail and what the hub did with them", ['rail', 'outcome']);

function answer(res: ServerResponse, { status, body }: WebhookAnswer, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store', ...headers });
  res.end(JSON.stringify(body));
}

const header = (req: IncomingMessage, name: string) => {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
};

export function billingWebhooks(opts: { db: () => Db }) {
  return async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const path = (req.url ?? '').split('?')[0];
    const rail = (Object.keys(WEBHOOK_PATHS) as RailName[]).find((r) => WEBHOOK_PATHS[r] === path);
    if (!rail) return answer(res, { status: 404, body: { error: 'no such endpoint' } });
    if (req.method !== 'POST') return answer(res, { status: 405, body: { error: 'POST only' } }, { allow: 'POST' });
    const e = env();
    const billing = billingConfig(e);
    const stripe = stripeRail(e);
    const btcpay = btcpayRail(e);
    if (!billing || (rail === 'stripe' ? !stripe : !btcpay)) {
      log.warn('payment webhook for a rail that is not set up on this hub', { rail });
      return answer(res, { status: 404, body: { error: `${RAIL_LABEL[rail]} are not set up on this hub` } });
    }
    try {
      const raw = await readBody(req);
      const out =
        rail === 'stripe'
          ? await handleStripeWebhook(opts.db(), stripe!, raw, header(req, 'stripe-signature'), billing.currency)
          : await handleBtcpayWebhook(opts.db(), btcpay!, raw, header(req, 'btcpay-sig'), billing.currency);
      webhooksTotal.inc({ rail, outcome: typeof out.body.outcome === 'string' ? out.body.outcome : `http ${out.status}` });
      answer(res, out);
    } catch (err) {
      if (err instanceof TooLarge) {
        // Not read to its end: answered, then the connection is dropped with the rest of the body.
        webhooksTotal.inc({ rail, outcome: 'http 413' });
        res.on('finish', () => req.destroy());
        return answer(res, { status: 413, body: { error: 'the body is too large for an event' } }, { connection: 'close' });
      }
      webhooksTotal.inc({ rail, outcome: 'http 500' });
      // Answered 500: the provider delivers again later, and the credit's idempotency key keeps that once.
      log.error('payment webhook failed', { rail, err });
      if (!res.headersSent) answer(res, { status: 500, body: { error: 'the hub could not record this event; deliver it again later' } });
    }
  };
}
