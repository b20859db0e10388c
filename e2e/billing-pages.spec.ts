// Billing's own pages in a real browser, billing on with no payment rail: an admin sets a price and credits an
// account by hand on /admin/billing; that account sees the balance, its rate and the credit's note on its
// account page; the admin enters a month's cost, and /open-books shows it to someone not signed in.
import { expect, test } from '@playwright/test';
import { signIn } from './support/console';
import { shot } from './support/screenshots';
import { ADMIN, startStack, type Stack } from './support/stack';

test.describe.configure({ mode: 'serial' });

let stack: Stack;

test.beforeAll(async () => {
  stack = await startStack([{}, {}], { BILLING_CURRENCY: 'EUR', BILLING_PUBLIC_BOOKS: 'true', BILLING_METER_PERIOD_MS: '2000' });
});
test.afterAll(async () => {
  await stack?.stop();
});

test('an admin prices a size and credits an account by hand; the account sees its balance and the note', async ({ browser }) => {
  const member = await browser.newPage();
  await signIn(member, stack, 'carol@example.com');

  const admin = await browser.newPage();
  await signIn(admin, stack, ADMIN);
  await admin.goto(`${stack.url}/admin/billing`);
  await admin.getByLabel('Size').selectOption('nano');
  await admin.getByLabel('Price a month (EUR)').fill('7.30');
  await admin.getByRole('button', { name: 'Set the price' }).click();
  await expect(admin.getByRole('table', { name: 'Prices' }).getByRole('row', { name: /Nano/ })).toContainText('7.30 EUR');

  await admin.getByLabel('Account email').first().fill('carol@example.com');
  await admin.getByLabel('Amount (EUR)').first().fill('20.00');
  await admin.getByLabel('Why (kept in the ledger, shown to the account)').fill('cash at the meeting');
  await admin.getByRole('button', { name: 'Credit', exact: true }).click();
  await expect(admin.getByRole('status')).toHaveText('Done: carol@example.com has 20.00 EUR.');
  await expect(admin.getByRole('table', { name: 'Accounts' }).getByRole('row', { name: /carol@example.com/ })).toContainText('20.00 EUR');
  await shot(admin, 'admin-billing');

  await member.goto(`${stack.url}/account`);
  await expect(member.getByTestId('balance')).toHaveText('20.00 EUR');
  await expect(member.getByRole('table', { name: 'Ledger' })).toContainText('cash at the meeting');
  await shot(member, 'account-billing');
});

test('the open books: a cost an admin enters is shown to someone not signed in, against the income', async ({ browser }) => {
  const admin = await browser.newPage();
  await signIn(admin, stack, ADMIN);
  await admin.goto(`${stack.url}/admin/billing`);
  const month = new Date().toISOString().slice(0, 7);
  await admin.getByLabel('Month', { exact: true }).fill(month);
  await admin.getByLabel('What (e.g. colocation, power)').fill('colocation');
  await admin.getByLabel('Amount (EUR)').last().fill('120.00');
  await admin.getByRole('button', { name: 'Add the cost' }).click();
  await expect(admin.getByRole('table', { name: "The fleet's costs" })).toContainText('colocation');

  const visitor = await (await browser.newContext()).newPage();
  const res = await visitor.goto(`${stack.url}/open-books`);
  expect(res?.status()).toBe(200);
  await expect(visitor.getByRole('heading', { name: 'Open books' })).toBeVisible();
  await expect(visitor.getByText('colocation')).toBeVisible();
  // A hand credit is not income: 120.00 of costs against nothing paid.
  await expect(visitor.getByTestId('books-balance')).toHaveText('-120.00 EUR');
  await expect(visitor.locator('body')).not.toContainText('carol@example.com');
  await shot(visitor, 'open-books');
});
