// Topping up in a real browser, through the payment stand-ins (test/support/stripe-standin.ts,
// btcpay-standin.ts) in place of Stripe's hosted checkout and a BTCPay server: the person picks a rail and an
// amount, pays on the stand-in's checkout page, comes back to the hub and sees the balance; a Bitcoin invoice
// settled while the page is open moves the balance on screen without a reload; a capsul created then is
// charged its first hour when the metering runs.
import { randomBytes } from 'node:crypto';
import { expect, test } from '@playwright/test';
import { startBtcpayStandin, type BtcpayStandin } from '../test/support/btcpay-standin';
import { startStripeStandin, type StripeStandin } from '../test/support/stripe-standin';
import { signIn } from './support/console';
import { e2eTls, startStack, type Stack } from './support/stack';

const STRIPE_KEY = `sk_test_${randomBytes(12).toString('hex')}`;
const STRIPE_WHSEC = `whsec_${randomBytes(16).toString('hex')}`;
const BTCPAY_KEY = randomBytes(20).toString('hex');
const BTCPAY_STORE = 'E2eStandinStore4kP9';
const BTCPAY_SECRET = randomBytes(18).toString('base64url');

test.describe.configure({ mode: 'serial' });

let stack: Stack;
let stripe: StripeStandin;
let btcpay: BtcpayStandin;

test.beforeAll(async () => {
  stripe = await startStripeStandin({ tls: e2eTls, secretKey: STRIPE_KEY, webhookSecret: STRIPE_WHSEC });
  btcpay = await startBtcpayStandin({ tls: e2eTls, apiKey: BTCPAY_KEY, storeId: BTCPAY_STORE, webhookSecret: BTCPAY_SECRET });
  stack = await startStack([{}, {}], {
    BILLING_CURRENCY: 'EUR',
    BILLING_METER_PERIOD_MS: '2000',
    STRIPE_SECRET_KEY: STRIPE_KEY,
    STRIPE_WEBHOOK_SECRET: STRIPE_WHSEC,
    STRIPE_API_BASE: stripe.url,
    STRIPE_MAX_NETWORK_RETRIES: '0',
    BTCPAY_URL: btcpay.url,
    BTCPAY_API_KEY: BTCPAY_KEY,
    BTCPAY_STORE_ID: BTCPAY_STORE,
    BTCPAY_WEBHOOK_SECRET: BTCPAY_SECRET,
    NODE_EXTRA_CA_CERTS: e2eTls.caFile,
  });
  stripe.setWebhook(`${stack.hub.url}/api/billing/stripe/webhook`);
  btcpay.setWebhook(`${stack.hub.url}/api/billing/btcpay/webhook`);
  // 7300 a month is 10 an hour (730 hours): the first hour of a nano capsul costs 0.10 EUR.
  await stack.hub.admin.billing.setPrice.mutate({ size: 'nano', monthlyMinor: 7300 });
});
test.afterAll(async () => {
  await stack?.stop();
  await stripe?.close();
  await btcpay?.close();
});

test('a card top-up through the checkout page, back on the hub with the balance topped up', async ({ page }) => {
  await signIn(page, stack, 'alice@example.com');
  await page.goto(`${stack.url}/account/top-up`);
  await expect(page.getByTestId('balance')).toHaveText('0.00 EUR');
  await expect(page.getByText('No top-ups yet.')).toBeVisible();

  // A bad amount is named next to its field; nothing leaves the page.
  await page.getByLabel('Amount (EUR)').fill('12.345');
  await expect(page.getByText('Write an amount such as 25.00.')).toBeVisible();
  await expect(page.getByRole('button', { name: 'Top up' })).toBeDisabled();
  await page.getByLabel('Amount (EUR)').fill('0.50');
  await page.getByRole('radio', { name: 'Card (Stripe)' }).check();
  await page.getByRole('button', { name: 'Top up' }).click();
  await expect(page.getByText('A top-up is between 1.00 EUR and 1000.00 EUR.')).toBeVisible();

  await page.getByLabel('Amount (EUR)').fill('25.00');
  await page.getByRole('button', { name: 'Top up' }).click();
  await page.waitForURL(`${stripe.url}/pay/**`);
  await expect(page.getByRole('heading', { name: 'Pay 25.00 EUR' })).toBeVisible();
  await page.getByRole('button', { name: 'Pay' }).click();

  await page.waitForURL(/\/account\/top-up\?topUp=done&session_id=cs_test_/);
  await expect(page.getByRole('status')).toHaveText('Paid: your balance is topped up.');
  await expect(page.getByTestId('balance')).toHaveText('25.00 EUR');
  await expect(page.locator('tr[data-payment="paid"]')).toContainText('25.00 EUR');
});

test('cancelling on the checkout page charges nothing', async ({ page }) => {
  await signIn(page, stack, 'alice@example.com');
  await page.goto(`${stack.url}/account/top-up`);
  await page.getByLabel('Amount (EUR)').fill('5');
  await page.getByRole('radio', { name: 'Card (Stripe)' }).check();
  await page.getByRole('button', { name: 'Top up' }).click();
  await page.waitForURL(`${stripe.url}/pay/**`);
  await page.getByRole('button', { name: 'Cancel' }).click();
  await page.waitForURL(/\/account\/top-up\?topUp=cancelled&payment=[0-9a-f-]{36}$/);
  await expect(page.getByText('You left the checkout; nothing was charged.')).toBeVisible();
  await expect(page.getByTestId('balance')).toHaveText('25.00 EUR');
  // Not left waiting: the checkout is closed at Stripe and the top-up says so.
  await expect(page.locator('tr[data-payment="expired"]')).toContainText('5.00 EUR');
  await expect(page.locator('tr[data-payment="pending"]')).toHaveCount(0);
});

test('a Bitcoin invoice settled while the page is open moves the balance on screen, no reload', async ({ page }) => {
  await signIn(page, stack, 'alice@example.com');
  await page.goto(`${stack.url}/account/top-up`);
  await page.getByRole('radio', { name: 'Bitcoin (BTCPay Server)' }).check();
  await page.getByLabel('Amount (EUR)').fill('10.00');
  await page.getByRole('button', { name: 'Top up' }).click();
  await page.waitForURL(`${btcpay.url}/i/**`);
  const invoiceId = page.url().split('/').pop()!;
  await expect(page.getByRole('heading', { name: 'Pay 10.00 EUR' })).toBeVisible();

  await page.goto(`${stack.url}/account/top-up?topUp=done`);
  await expect(page.locator('tr[data-payment="pending"]')).toContainText('10.00 EUR');
  // A mark on this document: a reload (or any new document) would lose it. (Not framenavigated: the App
  // Router's own history.replaceState at hydration fires it too, with no reload.)
  await page.evaluate(() => ((window as unknown as { samePage?: boolean }).samePage = true));
  await btcpay.settle(invoiceId);
  await expect(page.getByTestId('balance')).toHaveText('35.00 EUR');
  await expect(page.locator('tr[data-payment="pending"]')).toHaveCount(0);
  expect(await page.evaluate(() => (window as unknown as { samePage?: boolean }).samePage), 'no reload while waiting').toBe(true);
});

test('a capsul created with the balance is charged its first hour when the metering runs', async ({ page }) => {
  await signIn(page, stack, 'alice@example.com');
  await page.goto(`${stack.url}/capsuls/new`);
  await page.getByLabel('Name').fill('paid-for');
  await page.getByRole('radio', { name: /Nano/ }).check();
  await page.getByLabel('Image').selectOption('debian-12');
  await page.getByRole('button', { name: 'Create capsul' }).click();
  await page.waitForURL(/\/capsuls\/capsul-[a-z0-9]{10}$/);
  await expect(page.getByTestId('capsul-state')).toHaveText('running', { timeout: 30_000 });

  await expect
    .poll(async () => (await stack.hub.admin.billing.account.query({ account: 'alice@example.com' })).ledger.filter((e) => e.kind === 'usage').reduce((n, e) => n + e.amountMinor, 0), { timeout: 20_000 })
    .toBe(-10);
  await page.goto(`${stack.url}/account/top-up`);
  await expect(page.getByTestId('balance')).toHaveText('34.90 EUR');
});
