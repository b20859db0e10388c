// Payments end to end: a real hub process on PostgreSQL, pointed by base URL at local HTTPS stand-ins for the
// Stripe API and BTCPay's Greenfield API (test/support/stripe-standin.ts, btcpay-standin.ts). The hub makes
// its Checkout Sessions with the real SDK and its invoices with fetch; the stand-ins sign their webhooks as
// the providers do (the SDK's generateTestHeaderString; HMAC-SHA256 in BTCPay-Sig) and POST them to the hub's
// HTTPS port. Each top-up is credited once, whatever is delivered again, replayed, forged or contradictory;
// partial and expired invoices are recorded, not credited; a rail that is not configured says so.
import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import os from 'node:os';
import { after, before, describe, test } from 'node:test';
import pg from 'pg';
import Stripe from 'stripe';
import { balance } from '~/hub/billing/ledger';
import { openDatabase, type Database } from '~/hub/db/open';
import { httpsFetch } from '~/lib/https-fetch';
import { newToken } from '~/lib/tokens';
import { fieldIssues } from '~/lib/trpc-errors';
import { clientWithCookie, signIn, type Session } from '../support/accounts';
import { btcpaySig, startBtcpayStandin, type BtcpayStandin, type StandinInvoice } from '../support/btcpay-standin';
import { createTestDatabase } from '../support/postgres';
import { startHubProcess, until, type Hub } from '../support/processes';
import { startStripeStandin, stripeEvent, type StripeStandin } from '../support/stripe-standin';
import { makeTestTls, type TestTls } from '../support/tls';
import { refusal } from '../support/refusal';

const STRIPE_KEY = `sk_test_${randomBytes(12).toString('hex')}`;
const STRIPE_WHSEC = `whsec_${randomBytes(16).toString('hex')}`;
const BTCPAY_KEY = randomBytes(20).toString('hex');
const BTCPAY_STORE = 'StandinStore7xQ2mK9pLw';
const BTCPAY_SECRET = randomBytes(18).toString('base64url');
const METRICS_TOKEN = newToken();

describe('payments: Stripe and BTCPay through stand-ins, credited once', () => {
  let tls: TestTls;
  let database: Awaited<ReturnType<typeof createTestDatabase>>;
  let sql: pg.Client;
  let hubDb: Database;
  let stripe: StripeStandin;
  let btcpay: BtcpayStandin;
  let hub: Hub;
  let alice: Session & { id: string };
  let bob: Session & { id: string };
  const fetch = () => httpsFetch({ ca: readFileSync(tls.caFile) });

  const payment = async (id: string) => (await sql.query(`SELECT * FROM "Payment" WHERE id = $1`, [id])).rows[0];
  const entries = async (accountId: string) =>
    (await sql.query(`SELECT "amountMinor", "idempotencyKey", provider, "providerRef", actor FROM "LedgerEntry" WHERE "accountId" = $1 ORDER BY "createdAt"`, [accountId])).rows;
  const ledgerSize = async () => (await sql.query(`SELECT count(*)::int AS n FROM "LedgerEntry"`)).rows[0].n as number;

  before(async () => {
    tls = await makeTestTls();
    database = await createTestDatabase();
    sql = new pg.Client({ connectionString: database.url });
    await sql.connect();
    stripe = await startStripeStandin({ tls, secretKey: STRIPE_KEY, webhookSecret: STRIPE_WHSEC });
    btcpay = await startBtcpayStandin({ tls, apiKey: BTCPAY_KEY, storeId: BTCPAY_STORE, webhookSecret: BTCPAY_SECRET });
    hub = await startHubProcess({
      databaseUrl: database.url,
      tls,
      env: {
        BILLING_CURRENCY: 'EUR',
        STRIPE_SECRET_KEY: STRIPE_KEY,
        STRIPE_WEBHOOK_SECRET: STRIPE_WHSEC,
        STRIPE_API_BASE: stripe.url,
        STRIPE_MAX_NETWORK_RETRIES: '0',
        BTCPAY_URL: btcpay.url,
        BTCPAY_API_KEY: BTCPAY_KEY,
        BTCPAY_STORE_ID: BTCPAY_STORE,
        BTCPAY_WEBHOOK_SECRET: BTCPAY_SECRET,
        // The stand-ins' certificates come from the test CA, added to the system's as an operator would.
        NODE_EXTRA_CA_CERTS: tls.caFile,
        METRICS_TOKEN,
      },
    });
    stripe.setWebhook(`${hub.url}/api/billing/stripe/webhook`);
    btcpay.setWebhook(`${hub.url}/api/billing/btcpay/webhook`);
    hubDb = await openDatabase({ url: database.url, dataDir: os.tmpdir(), poolSize: 2 });
    const who = async (s: Session) => ({ ...s, id: (await s.client.account.me.query()).id });
    alice = await who(await signIn(hub, tls, 'alice@example.com'));
    bob = await who(await signIn(hub, tls, 'bob@example.com'));
  });

  after(async () => {
    await hubDb?.close();
    await sql?.end();
    await hub?.proc.stop();
    await stripe?.close();
    await btcpay?.close();
    await database?.drop();
  });

  test('the rails on offer, in the billing currency, with the top-up bounds', async () => {
    assert.deepEqual(await alice.client.billing.rails.query(), { currency: 'EUR', rails: ['stripe', 'btcpay'], minMinor: 100, maxMinor: 100_000 });
  });

  describe('Stripe', () => {
    test('a top-up through the checkout page is credited once, and the person is sent back to the hub', async () => {
      const { paymentId, url } = await alice.client.billing.topUp.mutate({ provider: 'stripe', amountMinor: 2500 });
      const sessionId = /\/pay\/(cs_test_\w+)$/.exec(url)?.[1];
      assert.ok(sessionId && url.startsWith(stripe.url), url);
      const row = await payment(paymentId);
      assert.equal(row.status, 'pending');
      assert.equal(row.providerRef, sessionId);
      assert.deepEqual([row.provider, row.amountMinor, row.currency, row.actor], ['stripe', 2500, 'EUR', 'account:alice@example.com']);

      // What the real SDK sent: a form body with bracketed keys, the secret key, an idempotency key.
      const made = stripe.requests.find((r) => r.method === 'POST' && r.path === '/v1/checkout/sessions')!;
      assert.equal(made.headers.authorization, `Bearer ${STRIPE_KEY}`);
      assert.equal(made.headers['idempotency-key'], `capsul-top-up-${paymentId}`);
      assert.equal(made.form.mode, 'payment');
      assert.equal(made.form['line_items[0][price_data][unit_amount]'], '2500');
      assert.equal(made.form['line_items[0][price_data][currency]'], 'eur');
      assert.equal(made.form['line_items[0][quantity]'], '1');
      assert.equal(made.form['metadata[paymentId]'], paymentId);
      assert.equal(made.form['metadata[accountId]'], alice.id);
      assert.equal(made.form.success_url, `${hub.url}/account/top-up?topUp=done&session_id={CHECKOUT_SESSION_ID}`);
      assert.equal(made.form.cancel_url, `${hub.url}/account/top-up?topUp=cancelled&payment=${paymentId}`);

      // The person's browser: the checkout page, then Pay.
      const f = fetch();
      const pageHtml = await (await f(url)).text();
      assert.match(pageHtml, /<button type="submit">Pay<\/button>/);
      assert.match(pageHtml, /Pay 25\.00 EUR/);
      const paid = await f(`${url}/pay`, { method: 'POST', redirect: 'manual' });
      assert.equal(paid.status, 303);
      assert.equal(paid.headers.get('location'), `${hub.url}/account/top-up?topUp=done&session_id=${sessionId}`);
      const delivery = stripe.deliveries.at(-1)!;
      assert.deepEqual([delivery.type, delivery.status, (delivery.body as { outcome: string }).outcome], ['checkout.session.completed', 200, 'credited']);

      assert.equal(await balance(hubDb.db, alice.id), 2500);
      const after = await payment(paymentId);
      assert.equal(after.status, 'paid');
      assert.ok(after.paidAt instanceof Date);
      assert.deepEqual(await entries(alice.id), [{ amountMinor: 2500, idempotencyKey: `stripe:${sessionId}`, provider: 'stripe', providerRef: sessionId, actor: 'stripe' }]);
      assert.deepEqual((await alice.client.billing.payments.query()).map((p) => [p.id, p.status, p.amountMinor]), [[paymentId, 'paid', 2500]]);
    });

    test('Stripe delivering the event again, a replay of the same signed bytes, and the async-success event add nothing', async () => {
      const { url } = await alice.client.billing.topUp.mutate({ provider: 'stripe', amountMinor: 1000 });
      const sessionId = url.split('/').at(-1)!;
      const first = await stripe.pay(sessionId);
      assert.equal((first.body as { outcome: string }).outcome, 'credited');
      const before = await balance(hubDb.db, alice.id);
      const event = stripeEvent('checkout.session.completed', stripe.sessions.get(sessionId), first.eventId);

      // A redelivery: the same event, signed afresh.
      const again = await stripe.deliver(event);
      assert.deepEqual([again.status, (again.body as { outcome: string }).outcome], [200, 'already credited']);
      // A replay: the very bytes and header of one delivery, sent again within the tolerance.
      const payload = JSON.stringify(event);
      const header = Stripe.webhooks.generateTestHeaderString({ payload, secret: STRIPE_WHSEC });
      for (let i = 0; i < 2; i++) {
        const replay = await stripe.deliver(event, { payload, header });
        assert.equal(replay.status, 200);
        assert.equal((replay.body as { outcome: string }).outcome, 'already credited');
      }
      // The other "paid" event for the same session.
      const async = await stripe.deliver(stripeEvent('checkout.session.async_payment_succeeded', stripe.sessions.get(sessionId)));
      assert.equal((async.body as { outcome: string }).outcome, 'already credited');
      // Ten deliveries at once: still one credit.
      const racing = await Promise.all(Array.from({ length: 10 }, () => stripe.deliver(stripeEvent('checkout.session.completed', stripe.sessions.get(sessionId)))));
      assert.ok(racing.every((d) => d.status === 200 && (d.body as { outcome: string }).outcome === 'already credited'), JSON.stringify(racing.map((d) => d.body)));
      assert.equal(await balance(hubDb.db, alice.id), before);
      assert.equal((await entries(alice.id)).filter((e) => e.providerRef === sessionId).length, 1);
    });

    test('the browser back before the webhook: the balance follows when it arrives', async () => {
      stripe.setPayOrder('redirect-first');
      try {
        const start = await balance(hubDb.db, bob.id);
        const { paymentId, url } = await bob.client.billing.topUp.mutate({ provider: 'stripe', amountMinor: 700 });
        const back = await fetch()(`${url}/pay`, { method: 'POST', redirect: 'manual' });
        assert.equal(back.status, 303);
        assert.equal((await payment(paymentId)).status, 'pending', 'not yet: the webhook has not arrived');
        await until('the webhook to credit bob', async () => (await balance(hubDb.db, bob.id)) === start + 700, 10_000, 50);
        assert.equal((await payment(paymentId)).status, 'paid');
      } finally {
        stripe.setPayOrder('webhook-first');
      }
    });

    test('the success page confirms with Stripe at once; the webhook after it adds nothing; nobody else confirms it', async () => {
      stripe.setPayOrder('redirect-first');
      try {
        const start = await balance(hubDb.db, bob.id);
        const { paymentId, url } = await bob.client.billing.topUp.mutate({ provider: 'stripe', amountMinor: 650 });
        const sessionId = url.split('/').at(-1)!;
        // Before paying: Stripe says the session is open, nothing is credited.
        assert.deepEqual(await bob.client.billing.confirmTopUp.mutate({ sessionId }), { paymentId, status: 'pending' });
        const deliveries = stripe.deliveries.length;
        const back = await fetch()(`${url}/pay`, { method: 'POST', redirect: 'manual' });
        const returned = new URL(back.headers.get('location')!).searchParams.get('session_id')!;
        assert.equal(returned, sessionId);
        const other = await refusal(alice.client.billing.confirmTopUp.mutate({ sessionId: returned }));
        assert.equal(other.data?.code, 'NOT_FOUND');
        assert.deepEqual(await bob.client.billing.confirmTopUp.mutate({ sessionId: returned }), { paymentId, status: 'paid' });
        assert.equal(await balance(hubDb.db, bob.id), start + 650);
        assert.ok(stripe.requests.some((r) => r.method === 'GET' && r.path === `/v1/checkout/sessions/${sessionId}`), 'read from Stripe');
        await until('the webhook after the success page', async () => stripe.deliveries.length > deliveries, 10_000, 50);
        assert.equal((stripe.deliveries.at(-1)!.body as { outcome: string }).outcome, 'already credited');
        assert.equal(await balance(hubDb.db, bob.id), start + 650);
        const bad = await refusal(bob.client.billing.confirmTopUp.mutate({ sessionId: '../v1/customers' }));
        assert.deepEqual(fieldIssues(bad).map((i) => i.path), ['sessionId']);
      } finally {
        stripe.setPayOrder('webhook-first');
      }
    });

    test('a wrong signature, none, a tampered body or an old timestamp is refused (400) and credits nothing', async () => {
      const { paymentId, url } = await alice.client.billing.topUp.mutate({ provider: 'stripe', amountMinor: 900 });
      const sessionId = url.split('/').at(-1)!;
      const session = { ...stripe.sessions.get(sessionId)!, status: 'complete', payment_status: 'paid' };
      const event = stripeEvent('checkout.session.completed', session);
      const size = await ledgerSize();
      const payload = JSON.stringify(event);
      const signedHeader = Stripe.webhooks.generateTestHeaderString({ payload, secret: STRIPE_WHSEC });
      const attempts = [
        await stripe.deliver(event, { secret: `whsec_${randomBytes(16).toString('hex')}` }),
        await stripe.deliver(event, { header: null }),
        await stripe.deliver(event, { header: 'garbage' }),
        await stripe.deliver(event, { payload: payload.replace('"amount_total":900', '"amount_total":90000'), header: signedHeader }),
        await stripe.deliver(event, { timestamp: Math.floor(Date.now() / 1000) - 301 }),
      ];
      for (const a of attempts) assert.deepEqual([a.status, a.body], [400, { error: 'signature verification failed' }]);
      assert.equal(await ledgerSize(), size);
      assert.equal((await payment(paymentId)).status, 'pending');
      // Inside the tolerance it verifies: Stripe's retries of a slow delivery still count.
      const late = await stripe.deliver(event, { timestamp: Math.floor(Date.now() / 1000) - 290 });
      assert.equal((late.body as { outcome: string }).outcome, 'credited');
    });

    test('an event for a session no top-up started, or for an unknown account, is ignored (200) and credits nothing', async () => {
      const size = await ledgerSize();
      const strangers = [
        { id: `cs_test_${randomBytes(8).toString('hex')}`, metadata: { paymentId: randomUUID(), accountId: randomUUID() } },
        { id: `cs_test_${randomBytes(8).toString('hex')}`, metadata: { paymentId: 'not-a-uuid', accountId: alice.id } },
        { id: `cs_test_${randomBytes(8).toString('hex')}`, metadata: {} },
      ];
      for (const s of strangers) {
        const d = await stripe.deliver(stripeEvent('checkout.session.completed', { object: 'checkout.session', payment_status: 'paid', amount_total: 5000, currency: 'eur', ...s }));
        assert.deepEqual([d.status, (d.body as { outcome: string }).outcome], [200, 'unknown payment']);
      }
      // A pending top-up of alice's, claimed by a session that is not its own, naming bob's account.
      const { paymentId } = await alice.client.billing.topUp.mutate({ provider: 'stripe', amountMinor: 400 });
      const d = await stripe.deliver(stripeEvent('checkout.session.completed', { id: `cs_test_${randomBytes(8).toString('hex')}`, object: 'checkout.session', payment_status: 'paid', amount_total: 400, currency: 'eur', metadata: { paymentId, accountId: bob.id } }));
      assert.equal((d.body as { outcome: string }).outcome, 'unknown payment');
      assert.equal(await ledgerSize(), size);
      assert.equal((await payment(paymentId)).status, 'pending');
    });

    test('a top-up whose session id was never stored is found by the payment id the session carries', async () => {
      const { paymentId, url } = await bob.client.billing.topUp.mutate({ provider: 'stripe', amountMinor: 550 });
      const sessionId = url.split('/').at(-1)!;
      await sql.query(`UPDATE "Payment" SET "providerRef" = NULL WHERE id = $1`, [paymentId]);
      const paid = await stripe.pay(sessionId);
      assert.equal((paid.body as { outcome: string }).outcome, 'credited');
      assert.deepEqual([(await payment(paymentId)).providerRef, (await payment(paymentId)).status], [sessionId, 'paid']);
    });

    test('another currency, or an amount of zero, less, or not what was asked: refused, recorded, not credited', async () => {
      const size = await ledgerSize();
      const cases: [Record<string, unknown>, RegExp][] = [
        [{ currency: 'usd' }, /^paid in USD, not EUR$/],
        [{ amount_total: 0 }, /^an amount of 0 is not a payment$/],
        [{ amount_total: -500 }, /^an amount of -500 is not a payment$/],
        [{ amount_total: 50 }, /^0\.50 EUR paid for a top-up of 5\.00 EUR$/],
      ];
      for (const [change, reason] of cases) {
        const { paymentId, url } = await bob.client.billing.topUp.mutate({ provider: 'stripe', amountMinor: 500 });
        const session = { ...stripe.sessions.get(url.split('/').at(-1)!)!, status: 'complete', payment_status: 'paid', ...change };
        const d = await stripe.deliver(stripeEvent('checkout.session.completed', session));
        assert.equal(d.status, 200);
        assert.equal((d.body as { outcome: string }).outcome, 'refused');
        assert.match((d.body as { reason: string }).reason, reason);
        const row = await payment(paymentId);
        assert.equal(row.status, 'invalid');
        assert.match(row.detail, /^not credited: /);
      }
      assert.equal(await ledgerSize(), size);
    });

    test('an expired checkout is recorded; an unpaid completion waits; events it does not act on are ignored', async () => {
      const { paymentId, url } = await bob.client.billing.topUp.mutate({ provider: 'stripe', amountMinor: 300 });
      const session = stripe.sessions.get(url.split('/').at(-1)!)!;
      const size = await ledgerSize();
      const waiting = await stripe.deliver(stripeEvent('checkout.session.completed', { ...session, status: 'complete', payment_status: 'unpaid' }));
      assert.equal((waiting.body as { outcome: string }).outcome, 'waiting for payment');
      const ignored = await stripe.deliver(stripeEvent('payment_intent.succeeded', { id: 'pi_123', object: 'payment_intent', amount: 300 }));
      assert.deepEqual([ignored.status, (ignored.body as { outcome: string }).outcome], [200, 'ignored']);
      const expired = await stripe.deliver(stripeEvent('checkout.session.expired', { ...session, status: 'expired' }));
      assert.equal((expired.body as { outcome: string }).outcome, 'expired');
      assert.deepEqual([(await payment(paymentId)).status, (await payment(paymentId)).detail], ['expired', 'the Checkout Session expired unpaid']);
      assert.equal(await ledgerSize(), size);
      // Cancel on the checkout page sends the person back to the hub, naming the top-up.
      const cancelled = await fetch()(`${url}/cancel`, { method: 'POST', redirect: 'manual' });
      assert.equal(cancelled.headers.get('location'), `${hub.url}/account/top-up?topUp=cancelled&payment=${paymentId}`);
    });

    test('back by Cancel: the checkout is expired at Stripe and the top-up marked expired; it cannot be paid after; nobody else cancels it', async () => {
      const { paymentId, url } = await bob.client.billing.topUp.mutate({ provider: 'stripe', amountMinor: 350 });
      const sessionId = url.split('/').at(-1)!;
      const size = await ledgerSize();
      const other = await refusal(alice.client.billing.cancelTopUp.mutate({ paymentId }));
      assert.equal(other.data?.code, 'NOT_FOUND');
      assert.equal((await payment(paymentId)).status, 'pending', 'another account changed nothing');
      assert.deepEqual(await bob.client.billing.cancelTopUp.mutate({ paymentId }), { paymentId, status: 'expired' });
      assert.ok(stripe.requests.some((r) => r.method === 'POST' && r.path === `/v1/checkout/sessions/${sessionId}/expire`), 'expired at Stripe');
      assert.equal(stripe.sessions.get(sessionId)!.status, 'expired');
      const late = await fetch()(`${url}/pay`, { method: 'POST', redirect: 'manual' });
      assert.equal(late.status, 400, 'an expired checkout cannot be paid');
      // Asked again (a reload of the page): the same answer, nothing more.
      assert.deepEqual(await bob.client.billing.cancelTopUp.mutate({ paymentId }), { paymentId, status: 'expired' });
      assert.equal(await ledgerSize(), size);
      const bad = await refusal(bob.client.billing.cancelTopUp.mutate({ paymentId: 'not-an-id' }));
      assert.deepEqual(fieldIssues(bad).map((i) => i.path), ['paymentId']);
    });

    test('Cancel on a checkout paid meanwhile in another tab: Stripe refuses to expire it, the top-up stays paid', async () => {
      const { paymentId, url } = await bob.client.billing.topUp.mutate({ provider: 'stripe', amountMinor: 450 });
      const start = await balance(hubDb.db, bob.id);
      await fetch()(`${url}/pay`, { method: 'POST', redirect: 'manual' });
      await until('credited', async () => (await payment(paymentId)).status === 'paid', 10_000, 50);
      assert.deepEqual(await bob.client.billing.cancelTopUp.mutate({ paymentId }), { paymentId, status: 'paid' });
      assert.equal(await balance(hubDb.db, bob.id), start + 450);
    });

    test('an expiry arriving after the payment leaves it paid', async () => {
      const { paymentId, url } = await bob.client.billing.topUp.mutate({ provider: 'stripe', amountMinor: 200 });
      const sessionId = url.split('/').at(-1)!;
      await stripe.pay(sessionId);
      const late = await stripe.deliver(stripeEvent('checkout.session.expired', { ...stripe.sessions.get(sessionId), status: 'expired' }));
      assert.equal((late.body as { outcome: string }).outcome, 'already paid');
      assert.equal((await payment(paymentId)).status, 'paid');
    });

    test('a refund made in Stripe leaves the balance once it has succeeded, once; others are not taken', async () => {
      const { paymentId, url } = await alice.client.billing.topUp.mutate({ provider: 'stripe', amountMinor: 3000 });
      const sessionId = url.split('/').at(-1)!;
      await stripe.pay(sessionId);
      const start = await balance(hubDb.db, alice.id);
      const outcome = async (d: Promise<{ body: unknown }> | { body: unknown }) => ((await d).body as { outcome: string }).outcome;

      const pendingRefund = stripe.refund(sessionId, 1000, { status: 'pending' });
      assert.equal(await outcome(pendingRefund.delivery), 'waiting for refund');
      assert.equal(await balance(hubDb.db, alice.id), start);
      // It succeeds later: refund.updated.
      assert.equal(await outcome(stripe.deliver(stripeEvent('refund.updated', { ...pendingRefund.refund, status: 'succeeded' }))), 'refunded');
      assert.equal(await balance(hubDb.db, alice.id), start - 1000);
      // Delivered again, and its other event: nothing more.
      assert.equal(await outcome(stripe.deliver(stripeEvent('refund.updated', { ...pendingRefund.refund, status: 'succeeded' }))), 'already refunded');
      assert.equal(await outcome(stripe.deliver(stripeEvent('refund.created', { ...pendingRefund.refund, status: 'succeeded' }))), 'already refunded');
      const second = stripe.refund(sessionId, 500);
      assert.equal(await outcome(second.delivery), 'refunded');
      assert.equal(await balance(hubDb.db, alice.id), start - 1500);
      const refunds = (await entries(alice.id)).filter((e) => e.idempotencyKey.startsWith('stripe:refund:'));
      assert.deepEqual(refunds.map((e) => [e.amountMinor, e.providerRef]), [[-1000, sessionId], [-500, sessionId]]);
      assert.equal((await payment(paymentId)).status, 'paid');

      // Not taken: another currency, more than the top-up, a payment no top-up of this hub made.
      assert.equal(await outcome(stripe.refund(sessionId, 100, { currency: 'usd' }).delivery), 'refused');
      assert.equal(await outcome(stripe.refund(sessionId, 3001).delivery), 'refused');
      const stranger = { id: 're_stranger', object: 'refund', amount: 100, currency: 'eur', status: 'succeeded', payment_intent: 'pi_not_ours' };
      assert.equal(await outcome(stripe.deliver(stripeEvent('refund.created', stranger))), 'unknown payment');
      assert.equal(await balance(hubDb.db, alice.id), start - 1500);
    });

    test('Stripe failing to make the session: the person is told, nothing is charged, the top-up is recorded invalid', async () => {
      stripe.failNext(500);
      const err = await refusal(alice.client.billing.topUp.mutate({ provider: 'stripe', amountMinor: 1200 }));
      assert.equal(err.data?.code, 'BAD_GATEWAY');
      assert.equal(err.message, 'Card payments (Stripe) could not start the payment just now; nothing was charged. Try again in a moment.');
      const row = (await sql.query(`SELECT * FROM "Payment" WHERE "accountId" = $1 ORDER BY "createdAt" DESC LIMIT 1`, [alice.id])).rows[0];
      assert.deepEqual([row.status, row.amountMinor, row.providerRef], ['invalid', 1200, null]);
      assert.match(row.detail, /^the rail gave no checkout: /);
    });
  });

  describe('BTCPay', () => {
    const invoiceOf = (url: string) => url.split('/').at(-1)!;

    test('a settled invoice is credited once, from the amount Greenfield reports', async () => {
      const start = await balance(hubDb.db, bob.id);
      const { paymentId, url } = await bob.client.billing.topUp.mutate({ provider: 'btcpay', amountMinor: 1500 });
      const invoiceId = invoiceOf(url);
      assert.ok(url.startsWith(`${btcpay.url}/i/`), url);
      const made = btcpay.requests.find((r) => r.method === 'POST')!;
      assert.equal(made.headers.authorization, `token ${BTCPAY_KEY}`);
      assert.equal(made.path, `/api/v1/stores/${BTCPAY_STORE}/invoices`);
      assert.deepEqual((made.body as { amount: string; currency: string }).amount, '15.00');
      assert.deepEqual((made.body as { currency: string }).currency, 'EUR');
      assert.deepEqual((made.body as { metadata: Record<string, string> }).metadata.paymentId, paymentId);
      assert.deepEqual((made.body as { checkout: Record<string, string> }).checkout.redirectURL, `${hub.url}/account/top-up?topUp=done`);
      assert.equal((await payment(paymentId)).providerRef, invoiceId);

      const settled = await btcpay.settle(invoiceId);
      assert.deepEqual([settled.status, (settled.answer as { outcome: string }).outcome], [200, 'credited']);
      assert.equal(await balance(hubDb.db, bob.id), start + 1500);
      assert.equal((await payment(paymentId)).status, 'paid');
      // The hub read the invoice back from Greenfield rather than trusting the body.
      assert.ok(btcpay.requests.some((r) => r.method === 'GET' && r.path.endsWith(`/invoices/${invoiceId}`)));

      // Redelivered (twice), replayed as is, other events of the same invoice, ten at once: nothing more.
      const again = [await btcpay.redeliver(settled), await btcpay.redeliver(settled), await btcpay.deliver(settled.body)];
      again.push(await btcpay.deliver(btcpay.event('InvoicePaymentSettled', btcpay.invoices.get(invoiceId)!)));
      again.push(...(await Promise.all(Array.from({ length: 10 }, () => btcpay.redeliver(settled)))));
      assert.ok(again.every((d) => d.status === 200 && (d.answer as { outcome: string }).outcome === 'already credited'), JSON.stringify(again.map((d) => d.answer)));
      assert.equal(await balance(hubDb.db, bob.id), start + 1500);
      assert.deepEqual((await entries(bob.id)).filter((e) => e.providerRef === invoiceId).map((e) => [e.idempotencyKey, e.amountMinor]), [[`btcpay:${invoiceId}`, 1500]]);
    });

    test('a webhook claiming a settlement Greenfield does not show credits nothing', async () => {
      const { paymentId, url } = await bob.client.billing.topUp.mutate({ provider: 'btcpay', amountMinor: 800 });
      const size = await ledgerSize();
      const lie = await btcpay.deliver(btcpay.event('InvoiceSettled', btcpay.invoices.get(invoiceOf(url))!));
      assert.deepEqual([lie.status, (lie.answer as { outcome: string }).outcome], [200, 'waiting for payment']);
      assert.equal(await ledgerSize(), size);
      assert.equal((await payment(paymentId)).status, 'pending');
    });

    test('a wrong, missing or malformed BTCPay-Sig is refused (400) and credits nothing', async () => {
      const { paymentId, url } = await bob.client.billing.topUp.mutate({ provider: 'btcpay', amountMinor: 600 });
      const invoiceId = invoiceOf(url);
      btcpay.set(invoiceId, { status: 'Settled' });
      const body = btcpay.event('InvoiceSettled', btcpay.invoices.get(invoiceId)!);
      const raw = JSON.stringify(body);
      const size = await ledgerSize();
      const attempts = [
        await btcpay.deliver(body, { secret: 'another-secret-entirely' }),
        await btcpay.deliver(body, { signature: null }),
        await btcpay.deliver(body, { signature: 'sha256=00' }),
        await btcpay.deliver(body, { signature: `sha1=${'0'.repeat(40)}` }),
        // Signed, then the body changed on the way.
        await btcpay.deliver(body, { raw: raw.replace('"isRedelivery":false', '"isRedelivery":true'), signature: btcpaySig(raw, BTCPAY_SECRET) }),
      ];
      for (const a of attempts) assert.deepEqual([a.status, a.answer], [400, { error: 'signature verification failed' }]);
      assert.equal(await ledgerSize(), size);
      assert.equal((await payment(paymentId)).status, 'pending');
      // Signed right, the same event is credited.
      assert.equal(((await btcpay.deliver(body)).answer as { outcome: string }).outcome, 'credited');
    });

    test('paid in part: recorded partial and not credited, also once expired; an unpaid expiry is recorded expired', async () => {
      const size = await ledgerSize();
      const { paymentId, url } = await alice.client.billing.topUp.mutate({ provider: 'btcpay', amountMinor: 2000 });
      const invoiceId = invoiceOf(url);
      const some = await btcpay.payPartially(invoiceId);
      assert.equal((some.answer as { outcome: string }).outcome, 'partial');
      assert.equal((await payment(paymentId)).status, 'partial');
      const ran = await btcpay.expire(invoiceId);
      assert.equal(ran.body.type, 'InvoiceExpiredPaidPartial');
      assert.equal((ran.answer as { outcome: string }).outcome, 'partial');
      const row = await payment(paymentId);
      assert.equal(row.status, 'partial');
      assert.match(row.detail, /not credited; an admin credits what arrived by hand/);
      await btcpay.redeliver(ran);

      const unpaid = await alice.client.billing.topUp.mutate({ provider: 'btcpay', amountMinor: 300 });
      const gone = await btcpay.expire(invoiceOf(unpaid.url));
      assert.deepEqual([gone.body.type, (gone.answer as { outcome: string }).outcome], ['InvoiceExpired', 'expired']);
      assert.equal((await payment(unpaid.paymentId)).status, 'expired');
      assert.equal(await ledgerSize(), size);

      // Paid late and settled after all: credited then, once.
      const late = await btcpay.settle(invoiceOf(unpaid.url), 'PaidLate');
      assert.equal((late.answer as { outcome: string }).outcome, 'credited');
      assert.equal((await payment(unpaid.paymentId)).status, 'paid');
      assert.equal(await ledgerSize(), size + 1);
    });

    test('an invoice in another currency, of zero, of less, or of another amount: refused, recorded, not credited', async () => {
      const size = await ledgerSize();
      const cases: [Partial<StandinInvoice>, RegExp][] = [
        [{ currency: 'USD' }, /^invoiced in USD, not EUR$/],
        [{ amount: '0.00' }, /^an amount of 0\.00 is not a payment$/],
        [{ amount: '-5.00' }, /^an amount of -5\.00 is not a payment$/],
        [{ amount: '5.005' }, /^an amount of 5\.005 is not a whole number of EUR minor units$/],
        [{ amount: '50.00' }, /^an invoice of 50\.00 EUR for a top-up of 5\.00 EUR$/],
      ];
      for (const [change, reason] of cases) {
        const { paymentId, url } = await alice.client.billing.topUp.mutate({ provider: 'btcpay', amountMinor: 500 });
        btcpay.set(invoiceOf(url), change);
        const d = await btcpay.settle(invoiceOf(url));
        assert.equal(d.status, 200);
        assert.equal((d.answer as { outcome: string }).outcome, 'refused');
        assert.match((d.answer as { reason: string }).reason, reason);
        assert.equal((await payment(paymentId)).status, 'invalid');
      }
      assert.equal(await ledgerSize(), size);
    });

    test("an invoice no top-up made, another store's event, and events that are not about invoices are ignored", async () => {
      const size = await ledgerSize();
      const unknown = await btcpay.deliver(btcpay.event('InvoiceSettled', { id: 'NoSuchInvoice123', storeId: BTCPAY_STORE, metadata: { accountId: randomUUID() } }));
      assert.deepEqual([unknown.status, (unknown.answer as { outcome: string }).outcome], [200, 'unknown payment']);
      const { url } = await alice.client.billing.topUp.mutate({ provider: 'btcpay', amountMinor: 500 });
      btcpay.set(invoiceOf(url), { status: 'Settled' });
      const otherStore = await btcpay.deliver(btcpay.event('InvoiceSettled', { ...btcpay.invoices.get(invoiceOf(url))!, storeId: 'AnotherStore999999' }));
      assert.equal((otherStore.answer as { outcome: string }).outcome, 'ignored');
      const payout = await btcpay.deliver({ deliveryId: 'd1', type: 'PayoutCreated', storeId: BTCPAY_STORE, payoutId: 'p1' });
      assert.equal((payout.answer as { outcome: string }).outcome, 'ignored');
      const notJson = await btcpay.deliver({ deliveryId: 'x', type: 'x' }, { raw: 'not json' });
      assert.equal(notJson.status, 400);
      assert.equal(await ledgerSize(), size);
    });

    test('a top-up whose invoice id was never stored is found by the metadata BTCPay confirms, and no other way', async () => {
      const a = await alice.client.billing.topUp.mutate({ provider: 'btcpay', amountMinor: 450 });
      const b = await alice.client.billing.topUp.mutate({ provider: 'btcpay', amountMinor: 460 });
      // As if the hub had stopped between BTCPay's answer and storing it.
      await sql.query(`UPDATE "Payment" SET "providerRef" = NULL WHERE id = ANY($1)`, [[a.paymentId, b.paymentId]]);
      const size = await ledgerSize();
      // An event for b's invoice whose body names a: BTCPay's own invoice says b, so it is not a's.
      btcpay.set(invoiceOf(b.url), { status: 'Settled' });
      const crossed = await btcpay.deliver(btcpay.event('InvoiceSettled', { ...btcpay.invoices.get(invoiceOf(b.url))!, metadata: { paymentId: a.paymentId, accountId: alice.id } }));
      assert.equal((crossed.answer as { outcome: string }).outcome, 'unknown payment');
      assert.equal(await ledgerSize(), size);
      const settled = await btcpay.settle(invoiceOf(a.url));
      assert.equal((settled.answer as { outcome: string }).outcome, 'credited');
      assert.deepEqual([(await payment(a.paymentId)).providerRef, (await payment(a.paymentId)).status], [invoiceOf(a.url), 'paid']);
      assert.equal((await payment(b.paymentId)).providerRef, null);
    });

    test('Greenfield unreachable while a webhook is handled: 503, so BTCPay delivers again, and then it is credited', async () => {
      const { paymentId, url } = await alice.client.billing.topUp.mutate({ provider: 'btcpay', amountMinor: 1100 });
      const invoiceId = invoiceOf(url);
      btcpay.failNext(500);
      const first = await btcpay.settle(invoiceId);
      assert.equal(first.status, 503);
      assert.equal((await payment(paymentId)).status, 'pending');
      const again = await btcpay.redeliver(first);
      assert.deepEqual([again.status, (again.answer as { outcome: string }).outcome], [200, 'credited']);
    });
  });

  describe('asking for a top-up', () => {
    test('amounts that are not a positive whole number within the bounds are refused, naming amountMinor, and nothing is recorded', async () => {
      const count = async () => (await sql.query(`SELECT count(*)::int AS n FROM "Payment"`)).rows[0].n as number;
      const before = await count();
      for (const amountMinor of [0, -500, 12.5, Number.MAX_SAFE_INTEGER, 99, 100_001]) {
        const err = await refusal(alice.client.billing.topUp.mutate({ provider: 'stripe', amountMinor }));
        assert.equal(err.data?.code, 'BAD_REQUEST', `${amountMinor}`);
        assert.deepEqual(fieldIssues(err).map((i) => i.path), ['amountMinor'], `${amountMinor}`);
      }
      const bounds = await refusal(alice.client.billing.topUp.mutate({ provider: 'btcpay', amountMinor: 100_001 }));
      assert.equal(bounds.message, 'A top-up is between 1.00 EUR and 1000.00 EUR.');
      const rail = await refusal(alice.client.billing.topUp.mutate({ provider: 'paypal' as 'stripe', amountMinor: 500 }));
      assert.deepEqual(fieldIssues(rail).map((i) => i.path), ['provider']);
      assert.equal(await count(), before);
    });

    test('only a signed-in account tops up, and each sees only its own top-ups', async () => {
      const admin = await refusal(hub.admin.billing.topUp.mutate({ provider: 'stripe', amountMinor: 500 }));
      assert.equal(admin.data?.code, 'FORBIDDEN');
      const mine = await bob.client.billing.payments.query();
      assert.ok(mine.length > 0);
      const bobs = new Set((await sql.query(`SELECT id FROM "Payment" WHERE "accountId" = $1`, [bob.id])).rows.map((r) => r.id as string));
      assert.ok(mine.every((p) => bobs.has(p.id)));
    });

    test('an account leaves at most 20 top-ups unpaid in an hour; the next is refused, nothing asked of the rail', async () => {
      const carol = await signIn(hub, tls, 'carol@example.com');
      for (let i = 0; i < 20; i++) await carol.client.billing.topUp.mutate({ provider: i % 2 ? 'btcpay' : 'stripe', amountMinor: 100 + i });
      const asked = stripe.requests.length + btcpay.requests.length;
      const err = await refusal(carol.client.billing.topUp.mutate({ provider: 'stripe', amountMinor: 500 }));
      assert.equal(err.data?.code, 'TOO_MANY_REQUESTS');
      assert.equal(err.message, 'You have 20 top-ups waiting for payment from the last hour; pay one of them or try again later.');
      assert.equal(stripe.requests.length + btcpay.requests.length, asked);
      assert.equal((await carol.client.billing.payments.query()).length, 20);
      // Another account is not held back by carol's.
      assert.ok((await bob.client.billing.topUp.mutate({ provider: 'stripe', amountMinor: 500 })).url);
    });

    test("admins list every account's top-ups, e.g. the partial ones to credit by hand; members may not", async () => {
      const partial = await hub.admin.billing.allPayments.query({ status: 'partial' });
      assert.ok(partial.length >= 1);
      assert.ok(partial.every((p) => p.status === 'partial' && p.provider === 'btcpay' && p.account === 'alice@example.com' && p.providerRef && /credits what arrived by hand/.test(p.detail ?? '')));
      const bobs = await hub.admin.billing.allPayments.query({ account: 'bob@example.com' });
      assert.ok(bobs.length > 0 && bobs.every((p) => p.account === 'bob@example.com'));
      assert.equal((await refusal(alice.client.billing.allPayments.query({}))).data?.code, 'FORBIDDEN');
    });

    test('a browser request from another site is refused (CSRF), and nothing is recorded', async () => {
      const elsewhere = clientWithCookie(hub, alice.fetch, alice.cookie, 'https://evil.example');
      const err = await refusal(elsewhere.billing.topUp.mutate({ provider: 'stripe', amountMinor: 500 }));
      assert.equal(err.data?.code, 'FORBIDDEN');
    });
  });

  describe('the webhook endpoints', () => {
    test('only POST, a body the size of an event, and each outcome counted in the metrics', async () => {
      const f = fetch();
      const get = await f(`${hub.url}/api/billing/stripe/webhook`);
      assert.deepEqual([get.status, get.headers.get('allow')], [405, 'POST']);
      assert.equal(get.headers.get('content-security-policy'), "default-src 'none'; frame-ancestors 'none'");
      assert.equal((await f(`${hub.url}/api/billing/paypal/webhook`, { method: 'POST', body: '{}' })).status, 404);
      const huge = await f(`${hub.url}/api/billing/btcpay/webhook`, { method: 'POST', body: 'x'.repeat(600 * 1024), headers: { 'content-type': 'application/json' } });
      assert.equal(huge.status, 413);
      const metrics = await (await f(`${hub.url}/metrics`, { headers: { authorization: `Bearer ${METRICS_TOKEN}` } })).text();
      const count = (rail: string, outcome: string) => Number(new RegExp(`^capsul_payment_webhooks_total\\{rail="${rail}",outcome="${outcome}"\\} (\\d+)$`, 'm').exec(metrics)?.[1] ?? 0);
      assert.ok(count('stripe', 'credited') >= 5, metrics.split('\n').filter((l) => l.startsWith('capsul_payment')).join('\n'));
      assert.ok(count('stripe', 'http 400') >= 5);
      assert.ok(count('btcpay', 'already credited') >= 10);
      assert.equal(count('btcpay', 'http 413'), 1);
    });
  });

  describe('a hub whose rails are not configured', () => {
    let bare: Hub;
    before(async () => {
      bare = await startHubProcess({ databaseUrl: database.url, tls, name: 'bare-hub', env: { BILLING_CURRENCY: 'EUR' } });
    });
    after(async () => {
      await bare?.proc.stop();
    });

    test('topUp says which rail is not set up; its webhooks answer 404; nothing is recorded', async () => {
      const client = clientWithCookie(bare, alice.fetch, alice.cookie);
      assert.deepEqual((await client.billing.rails.query()).rails, []);
      const before = (await sql.query(`SELECT count(*)::int AS n FROM "Payment"`)).rows[0].n;
      for (const [provider, label] of [['stripe', 'Card payments (Stripe)'], ['btcpay', 'Bitcoin payments (BTCPay Server)']] as const) {
        const err = await refusal(client.billing.topUp.mutate({ provider, amountMinor: 500 }));
        assert.equal(err.data?.code, 'PRECONDITION_FAILED');
        assert.equal(err.message, `${label} are not set up on this hub; ask an admin, who can also credit a cash or bank payment by hand.`);
        assert.deepEqual(fieldIssues(err).map((i) => i.path), ['provider']);
      }
      assert.equal((await sql.query(`SELECT count(*)::int AS n FROM "Payment"`)).rows[0].n, before);
      const f = fetch();
      for (const path of ['/api/billing/stripe/webhook', '/api/billing/btcpay/webhook']) {
        const res = await f(`${bare.url}${path}`, { method: 'POST', body: '{}', headers: { 'content-type': 'application/json' } });
        assert.equal(res.status, 404, path);
      }
    });
  });
});
