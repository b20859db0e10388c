// A local stand-in for the part of the Stripe API the hub uses, over HTTPS with the test CA: Checkout Sessions
// (create, retrieve) as the real SDK sends them (a form body with bracketed keys, a Bearer key, an
// Idempotency-Key), and a checkout page with Pay and Cancel buttons in place of Stripe's hosted one. Pay marks
// the session paid, signs `checkout.session.completed` the way Stripe does (the SDK's own
// generateTestHeaderString) and POSTs it to the hub's webhook, then sends the browser to success_url.
// Only the fields the hub reads are modelled (the SDK does not check response shapes). Tests also deliver
// events of their own, signed or not, through `deliver`.
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import https from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import Stripe from 'stripe';
import { httpsFetch } from '~/lib/https-fetch';
import type { TestTls } from './tls';

export type StandinSession = {
  id: string;
  object: 'checkout.session';
  mode: string;
  status: 'open' | 'complete' | 'expired';
  payment_status: 'unpaid' | 'paid' | 'no_payment_required';
  amount_total: number;
  currency: string;
  metadata: Record<string, string>;
  client_reference_id: string | null;
  customer_email: string | null;
  success_url: string;
  cancel_url: string;
  url: string;
  created: number;
  /** Set when it is paid, as Stripe does. */
  payment_intent: string | null;
};

export type StripeRequest = { method: string; path: string; headers: IncomingMessage['headers']; form: Record<string, string> };
export type Delivery = { eventId: string; type: string; status: number; body: unknown };

/** Stripe's own form of an event around an object. */
export function stripeEvent(type: string, object: unknown, id = `evt_${randomBytes(12).toString('hex')}`) {
  return { id, object: 'event', api_version: '2025-01-01', created: Math.floor(Date.now() / 1000), livemode: false, pending_webhooks: 1, request: { id: null, idempotency_key: null }, type, data: { object } };
}

const signer = new Stripe('sk_test_signer_only', { telemetry: false });

export async function startStripeStandin(opts: { tls: TestTls; secretKey: string; webhookSecret: string }) {
  const sessions = new Map<string, StandinSession>();
  const requests: StripeRequest[] = [];
  const deliveries: Delivery[] = [];
  const fetch = httpsFetch({ ca: readFileSync(opts.tls.caFile) });
  let webhookUrl = '';
  let failures: number[] = [];
  let base = '';
  let payOrder: 'webhook-first' | 'redirect-first' = 'webhook-first';

  /** POSTs an event to the hub's webhook, signed with the webhook secret (or as told: another secret, an old
   * timestamp, a header of the test's own, none). */
  async function deliver(event: { id: string; type: string }, o: { secret?: string; timestamp?: number; header?: string | null; payload?: string } = {}): Promise<Delivery> {
    const payload = o.payload ?? JSON.stringify(event, null, 2);
    const header = o.header === undefined ? signer.webhooks.generateTestHeaderString({ payload, secret: o.secret ?? opts.webhookSecret, timestamp: o.timestamp }) : o.header;
    const res = await fetch(webhookUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json; charset=utf-8', 'user-agent': 'Stripe/1.0 (+https://stripe.com/docs/webhooks)', ...(header === null ? {} : { 'stripe-signature': header }) },
      body: payload,
    });
    const text = await res.text();
    let body: unknown = text;
    try {
      body = JSON.parse(text);
    } catch {
      // kept as text
    }
    const d = { eventId: event.id, type: event.type, status: res.status, body };
    deliveries.push(d);
    return d;
  }

  function complete(id: string): StandinSession {
    const s = sessions.get(id);
    if (!s) throw new Error(`stripe stand-in: no session ${id}`);
    s.status = 'complete';
    s.payment_status = 'paid';
    s.payment_intent ??= `pi_${randomBytes(12).toString('hex')}`;
    return s;
  }

  /** The session paid, and its checkout.session.completed delivered. */
  function pay(id: string): Promise<Delivery> {
    return deliver(stripeEvent('checkout.session.completed', complete(id)));
  }

  const json = (res: ServerResponse, status: number, body: unknown) => {
    res.writeHead(status, { 'content-type': 'application/json', 'request-id': `req_${randomBytes(6).toString('hex')}` });
    res.end(JSON.stringify(body));
  };
  const stripeError = (res: ServerResponse, status: number, message: string, type = 'invalid_request_error') => json(res, status, { error: { type, message } });
  const readForm = async (req: IncomingMessage) => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    return Object.fromEntries(new URLSearchParams(Buffer.concat(chunks).toString()));
  };

  const page = (s: StandinSession) => `<!doctype html><html><head><meta charset="utf-8"><title>Stripe stand-in checkout</title></head><body>
<h1>Pay ${(s.amount_total / 100).toFixed(2)} ${s.currency.toUpperCase()}</h1>
<form method="post" action="/pay/${s.id}/pay"><button type="submit">Pay</button></form>
<form method="post" action="/pay/${s.id}/cancel"><button type="submit">Cancel</button></form>
</body></html>`;

  const server = https.createServer({ cert: readFileSync(opts.tls.certFile), key: readFileSync(opts.tls.keyFile) }, (req, res) => {
    void (async () => {
      const url = new URL(req.url ?? '/', base);
      const path = url.pathname;
      if (path.startsWith('/v1/')) {
        const form = req.method === 'POST' ? await readForm(req) : Object.fromEntries(url.searchParams);
        requests.push({ method: req.method ?? '', path, headers: req.headers, form });
        if (req.headers.authorization !== `Bearer ${opts.secretKey}`) return stripeError(res, 401, 'Invalid API Key provided');
        const failure = failures.shift();
        if (failure) return stripeError(res, failure, 'the stand-in was told to fail this call', 'api_error');
        if (req.method === 'POST' && path === '/v1/checkout/sessions') {
          const unit = Number(form['line_items[0][price_data][unit_amount]']);
          const quantity = Number(form['line_items[0][quantity]'] ?? '1');
          if (!Number.isInteger(unit) || unit < 0) return stripeError(res, 400, 'Invalid integer: line_items[0][price_data][unit_amount]');
          if (form.mode !== 'payment') return stripeError(res, 400, 'mode must be payment here');
          const id = `cs_test_${randomBytes(16).toString('hex')}`;
          const metadata = Object.fromEntries(Object.entries(form).filter(([k]) => k.startsWith('metadata[')).map(([k, v]) => [k.slice(9, -1), v]));
          const s: StandinSession = {
            id,
            object: 'checkout.session',
            mode: form.mode,
            status: 'open',
            payment_status: 'unpaid',
            amount_total: unit * quantity,
            currency: form['line_items[0][price_data][currency]'] ?? '',
            metadata,
            client_reference_id: form.client_reference_id ?? null,
            customer_email: form.customer_email ?? null,
            success_url: form.success_url ?? '',
            cancel_url: form.cancel_url ?? '',
            url: `${base}/pay/${id}`,
            created: Math.floor(Date.now() / 1000),
            payment_intent: null,
          };
          sessions.set(id, s);
          return json(res, 200, s);
        }
        if (req.method === 'GET' && path === '/v1/checkout/sessions') {
          const data = [...sessions.values()].filter((x) => !form.payment_intent || x.payment_intent === form.payment_intent).slice(0, Number(form.limit ?? 10));
          return json(res, 200, { object: 'list', data, has_more: false, url: '/v1/checkout/sessions' });
        }
        const expire = /^\/v1\/checkout\/sessions\/([\w]+)\/expire$/.exec(path);
        if (req.method === 'POST' && expire) {
          const s = sessions.get(expire[1]!);
          if (!s) return stripeError(res, 404, `No such checkout.session: '${expire[1]}'`);
          if (s.status !== 'open') return stripeError(res, 400, `Only Checkout Sessions with a status in ["open"] can be expired. This Checkout Session has a status of "${s.status}".`);
          s.status = 'expired';
          return json(res, 200, s);
        }
        const one = /^\/v1\/checkout\/sessions\/([\w]+)$/.exec(path);
        if (req.method === 'GET' && one) {
          const s = sessions.get(one[1]!);
          return s ? json(res, 200, s) : stripeError(res, 404, `No such checkout.session: '${one[1]}'`);
        }
        return stripeError(res, 404, `Unrecognized request URL (${req.method}: ${path})`);
      }
      const payPath = /^\/pay\/([\w]+)(?:\/(pay|cancel))?$/.exec(path);
      const s = payPath && sessions.get(payPath[1]!);
      if (!payPath || !s) {
        res.writeHead(404, { 'content-type': 'text/plain' });
        return res.end('no such checkout');
      }
      if (req.method === 'GET' && !payPath[2]) {
        res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
        return res.end(page(s));
      }
      if (req.method === 'POST' && payPath[2] === 'pay' && s.status !== 'open') {
        res.writeHead(400, { 'content-type': 'text/plain' });
        return res.end(`this checkout is ${s.status}`);
      }
      if (req.method === 'POST' && payPath[2] === 'pay') {
        // Stripe does not order the two: the webhook may arrive before the browser is back, or after.
        const location = s.success_url.replace('{CHECKOUT_SESSION_ID}', s.id);
        // Paid before the browser is sent back, either way (a success page may read the session at once).
        complete(s.id);
        const event = stripeEvent('checkout.session.completed', s);
        if (payOrder === 'webhook-first') await deliver(event);
        res.writeHead(303, { location });
        res.end();
        if (payOrder === 'redirect-first') setTimeout(() => void deliver(event).catch(() => undefined), 300);
        return;
      }
      if (req.method === 'POST' && payPath[2] === 'cancel') {
        res.writeHead(303, { location: s.cancel_url });
        return res.end();
      }
      res.writeHead(405).end();
    })().catch((err: unknown) => {
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
      res.end(String(err));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;

  return {
    url: base,
    sessions,
    requests,
    deliveries,
    /** Where Pay and `deliver` send events: the hub's webhook, known once the hub is up. */
    setWebhook(url: string) {
      webhookUrl = url;
    },
    /** Whether Pay delivers the webhook before sending the browser back, or shortly after. */
    setPayOrder(order: 'webhook-first' | 'redirect-first') {
      payOrder = order;
    },
    /** The next API calls answer these HTTP statuses with a Stripe error, in order. */
    failNext(...statuses: number[]) {
      failures = statuses;
    },
    deliver,
    pay,
    /** A refund of a paid session, as the dashboard makes one: refund.created delivered. */
    refund(id: string, amount: number, o: { status?: string; currency?: string } = {}) {
      const s = sessions.get(id);
      if (!s?.payment_intent) throw new Error(`stripe stand-in: session ${id} is not paid`);
      const refund = { id: `re_${randomBytes(12).toString('hex')}`, object: 'refund', amount, currency: o.currency ?? s.currency, status: o.status ?? 'succeeded', payment_intent: s.payment_intent, charge: `ch_${randomBytes(8).toString('hex')}`, created: Math.floor(Date.now() / 1000) };
      return { refund, delivery: deliver(stripeEvent('refund.created', refund)) };
    },
    async close() {
      server.close();
      server.closeAllConnections();
    },
  };
}

export type StripeStandin = Awaited<ReturnType<typeof startStripeStandin>>;
