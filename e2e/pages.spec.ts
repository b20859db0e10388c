// The pages a person lands on when something is not there or went wrong: styled like the console, saying
// what to do, with the right HTTP status.
import { expect, test } from '@playwright/test';
import pg from 'pg';
import { adminUrl } from '../test/support/postgres';
import { signIn } from './support/console';
import { startStack, type Stack } from './support/stack';

test.describe.configure({ mode: 'serial' });

let stack: Stack;
test.beforeAll(async () => {
  stack = await startStack();
});
test.afterAll(async () => {
  await stack?.stop();
});

test('an address with nothing behind it: a 404 in the console\'s style that says what to do', async ({ page }) => {
  const res = await page.goto(`${stack.url}/no-such-page`);
  expect(res?.status()).toBe(404);
  await expect(page.getByRole('heading', { name: 'Nothing here' })).toBeVisible();
  await expect(page.getByText('There is no page at this address.')).toBeVisible();
  await expect(page.getByText('This page could not be found')).toHaveCount(0); // not Next.js's own
  await expect(page.locator('main.narrow .card')).toHaveCSS('border-top-left-radius', '8px'); // globals.css
  await page.getByRole('link', { name: 'Go to your capsuls' }).click();
  await page.waitForURL(/\/login$/); // signed out: the console sends the way in
});

test('a capsul that is not there (or is someone else\'s): the same page, signed in', async ({ page }) => {
  await signIn(page, stack, 'lost@example.com');
  const res = await page.goto(`${stack.url}/capsuls/capsul-zzzzzzzzzz`);
  expect(res?.status()).toBe(404);
  await expect(page.getByRole('heading', { name: 'Nothing here' })).toBeVisible();
  await page.getByRole('link', { name: 'Go to your capsuls' }).click();
  await expect(page.getByRole('heading', { name: 'Your capsuls' })).toBeVisible();
});

test('a page that cannot be rendered (its database refuses connections): the error page, and Try again works once it is back', async ({ page }) => {
  await signIn(page, stack, 'unlucky@example.com');
  const name = new URL(stack.databaseUrl).pathname.slice(1);
  const admin = new pg.Client({ connectionString: adminUrl() });
  await admin.connect();
  try {
    // The hub's connections are cut and no new one is let in. pg_terminate_backend only signals unless given
    // a timeout: wait (up to 5 s) until each backend has gone, or the page can still be served by one.
    await admin.query(`ALTER DATABASE ${name} CONNECTION LIMIT 0`);
    await admin.query('SELECT pg_terminate_backend(pid, 5000) FROM pg_stat_activity WHERE datname = $1 AND usename = current_user AND pid <> pg_backend_pid()', [name]);
    const res = await page.goto(`${stack.url}/keys`);
    expect(res?.status()).toBe(500);
    await expect(page.getByRole('heading', { name: 'Something went wrong' })).toBeVisible();
    await expect(page.getByText('try again in a few seconds')).toBeVisible();
    await expect(page.getByText(/give them this reference/)).toContainText(/\S+$/);
    await expect(page.locator('main.narrow .card')).toHaveCSS('border-top-left-radius', '8px');
  } finally {
    await admin.query(`ALTER DATABASE ${name} CONNECTION LIMIT -1`);
    await admin.end();
  }
  await expect(async () => {
    await page.getByRole('button', { name: 'Try again' }).click({ timeout: 2000 });
    await expect(page.getByRole('heading', { name: 'SSH keys' })).toBeVisible({ timeout: 3000 });
  }).toPass({ timeout: 30_000 });
});
