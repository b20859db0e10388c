// A local stand-in for BTCPay Server's Greenfield invoices over HTTPS with the test CA: create and get
// (`Authorization: token <key>`, one store), a checkout page, and what a wallet and BTCPay's clock would do to
// an invoice (pay it in full, in part, let it expire), each followed by the store webhook BTCPay sends:
// `BTCPay-Sig: sha256=<hex HMAC-SHA256 of the raw body>`. Redeliveries get a new deliveryId and isRedelivery.
import { createHmac, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import https from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { httpsFetch } from '~/lib/https-fetch';
import type { TestTls } from './tls';

export type StandinInvoice = {
  id: string;
  storeId: string;
  checkoutLink: string;
  status: 'New' | 'Processing' | 'Expired' | 'Invalid' | 'Settled';
  additionalStatus: 'None' | 'PaidLate' | 'PaidPartial' | 'Marked' | 'Invalid' | 'PaidOver';
  amount: string;
  currency: string;
  metadata: Record<string, unknown>;
  checkout: Record<string, unknown>;
  createdTime: number;
};

export type WebhookBody = Record<string, unknown> & { deliveryId: string; type: string; invoiceId?: string };
export type BtcpayDelivery = { body: WebhookBody; status: number; answer: unknown };

const base58 = (n: number) => {
  const abc = '123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz';
  return Array.from(randomBytes(n), (b) => abc[b % abc.length]).join('');
};

/** What BTCPay signs: the raw body's HMAC-SHA256 with the webhook's secret. */
export function btcpaySig(raw: string, secret: string): string {
  return `sha256=${createHmac('sha256', secret).update(raw).digest('hex')}`;
}

export async function startBtcpayStandin(opts: { tls: TestTls; apiKey: string; storeId: string; webhookSecret: string }) {
  const invoices = new Map<string, StandinInvoice>();
  const requests: { method: string; path: string; headers: IncomingMessage['headers']; body: unknown }[] = [];
  const deliveries: BtcpayDelivery[] = [];
  const fetch = httpsFetch({ ca: readFileSync(opts.tls.caFile) });
  let webhookUrl = '';
  let base = '';
  let failures: number[] = [];

  function event(type: string, invoice: Pick<StandinInvoice, 'id' | 'storeId' | 'metadata'>, extra: Record<string, unknown> = {}): WebhookBody {
    const deliveryId = base58(22);
    return {
      deliveryId,
      webhookId: 'standin-webhook',
      originalDeliveryId: deliveryId,
      isRedelivery: false,
      type,
      timestamp: Math.floor(Date.now() / 1000),
      storeId: invoice.storeId,
      invoiceId: invoice.id,
      metadata: invoice.metadata,
      ...extra,
    };
  }

  /** POSTs a webhook body to the hub, signed with the webhook secret (or as told). */
  async function deliver(body: WebhookBody, o: { secret?: string; signature?: string | null; raw?: string } = {}): Promise<BtcpayDelivery> {
    const raw = o.raw ?? JSON.stringify(body);
    const sig = o.signature === undefined ? btcpaySig(raw, o.secret ?? opts.webhookSecret) : o.signature;
    const res = await fetch(webhookUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'user-agent': 'BTCPayServer', ...(sig === null ? {} : { 'btcpay-sig': sig }) },
      body: raw,
    });
    const text = await res.text();
    let answer: unknown = text;
    try {
      answer = JSON.parse(text);
    } catch {
      // kept as text
    }
    const d = { body, status: res.status, answer };
    deliveries.push(d);
    return d;
  }

  /** The same event again, as BTCPay's "Redeliver" does: a new deliveryId, isRedelivery true. */
  function redeliver(d: BtcpayDelivery): Promise<BtcpayDelivery> {
    return deliver({ ...d.body, deliveryId: base58(22), originalDeliveryId: d.body.originalDeliveryId ?? d.body.deliveryId, isRedelivery: true });
  }

  const get = (id: string) => {
    const inv = invoices.get(id);
    if (!inv) throw new Error(`btcpay stand-in: no invoice ${id}`);
    return inv;
  };

  const json = (res: ServerResponse, status: number, body: unknown) => {
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
  };
  const readJson = async (req: IncomingMessage) => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    return JSON.parse(Buffer.concat(chunks).toString() || 'null') as unknown;
  };

  const server = https.createServer({ cert: readFileSync(opts.tls.certFile), key: readFileSync(opts.tls.keyFile) }, (req, res) => {
    void (async () => {
      const path = new URL(req.url ?? '/', base).pathname;
      const api = /^\/api\/v1\/stores\/([^/]+)\/invoices(?:\/([^/]+))?$/.exec(path);
      if (api) {
        const body = req.method === 'POST' ? await readJson(req) : null;
        requests.push({ method: req.method ?? '', path, headers: req.headers, body });
        if (req.headers.authorization !== `token ${opts.apiKey}`) return json(res, 401, { code: 'unauthenticated', message: 'Authentication is required for accessing this endpoint' });
        if (decodeURIComponent(api[1]!) !== opts.storeId) return json(res, 404, { code: 'store-not-found', message: 'The store was not found' });
        const failure = failures.shift();
        if (failure) return json(res, failure, { code: 'standin-failure', message: 'the stand-in was told to fail this call' });
        if (req.method === 'POST' && !api[2]) {
          const b = body as { amount?: string; currency?: string; metadata?: Record<string, unknown>; checkout?: Record<string, unknown> };
          if (typeof b?.amount !== 'string' || !/^\d+(\.\d+)?$/.test(b.amount)) return json(res, 422, [{ path: 'amount', message: 'Amount should be a positive number' }]);
          const id = base58(22);
          const inv: StandinInvoice = {
            id,
            storeId: opts.storeId,
            checkoutLink: `${base}/i/${id}`,
            status: 'New',
            additionalStatus: 'None',
            amount: b.amount,
            currency: b.currency ?? 'USD',
            metadata: b.metadata ?? {},
            checkout: b.checkout ?? {},
            createdTime: Math.floor(Date.now() / 1000),
          };
          invoices.set(id, inv);
          return json(res, 200, inv);
        }
        if (req.method === 'GET' && api[2]) {
          const inv = invoices.get(decodeURIComponent(api[2]));
          return inv ? json(res, 200, inv) : json(res, 404, { code: 'invoice-not-found', message: 'The invoice was not found' });
        }
        return json(res, 405, { code: 'method-not-allowed', message: 'not here' });
      }
      const checkout = /^\/i\/([^/]+)$/.exec(path);
      const inv = checkout && invoices.get(checkout[1]!);
      if (inv && req.method === 'GET') {
        res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
        return res.end(`<!doctype html><html><head><meta charset="utf-8"><title>BTCPay stand-in invoice</title></head><body><h1>Pay ${inv.amount} ${inv.currency}</h1><p>Status: ${inv.status}</p></body></html>`);
      }
      res.writeHead(404, { 'content-type': 'text/plain' });
      res.end('not found');
    })().catch((err: unknown) => {
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
      res.end(String(err));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;

  return {
    url: base,
    invoices,
    requests,
    deliveries,
    setWebhook(url: string) {
      webhookUrl = url;
    },
    /** The next Greenfield calls answer these HTTP statuses, in order. */
    failNext(...statuses: number[]) {
      failures = statuses;
    },
    event,
    deliver,
    redeliver,
    /** Changes an invoice as BTCPay would see it, without a webhook (for a test that lies in one). */
    set(id: string, change: Partial<StandinInvoice>) {
      Object.assign(get(id), change);
    },
    /** Paid in full and confirmed: Settled, then InvoiceSettled. */
    settle(id: string, additionalStatus: StandinInvoice['additionalStatus'] = 'None') {
      const inv = get(id);
      Object.assign(inv, { status: 'Settled', additionalStatus });
      return deliver(event('InvoiceSettled', inv, { manuallyMarked: false, overPaid: additionalStatus === 'PaidOver' }));
    },
    /** Some of it paid: still New, PaidPartial, then InvoiceReceivedPayment. */
    payPartially(id: string) {
      const inv = get(id);
      Object.assign(inv, { status: 'New', additionalStatus: 'PaidPartial' });
      return deliver(event('InvoiceReceivedPayment', inv, { afterExpiration: false }));
    },
    /** Its time ran out: Expired (PaidPartial when some had arrived), then the matching event. */
    expire(id: string) {
      const inv = get(id);
      const partial = inv.additionalStatus === 'PaidPartial';
      inv.status = 'Expired';
      return deliver(event(partial ? 'InvoiceExpiredPaidPartial' : 'InvoiceExpired', inv, { partiallyPaid: partial, paymentMethodsPaid: partial ? 1 : 0 }));
    },
    async close() {
      server.close();
      server.closeAllConnections();
    },
  };
}

export type BtcpayStandin = Awaited<ReturnType<typeof startBtcpayStandin>>;
