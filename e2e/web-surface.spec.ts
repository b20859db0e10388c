// What the browser enforces from the hub's security headers: the console cannot be framed by another origin
// (not even one on the same site, where the session cookie would go along), an injected inline script does
// not run, and the console's own scripts (hydration, client-side navigation) still do.
import { readFileSync } from 'node:fs';
import https from 'node:https';
import { expect, test, type Page } from '@playwright/test';
import { httpsFetch } from '../src/lib/https-fetch';
import { freePort } from '../test/support/processes';
import { signIn } from './support/console';
import { ADMIN, e2eTls, startStack, type Stack } from './support/stack';

test.describe.configure({ mode: 'serial' });

let stack: Stack;
test.beforeAll(async () => {
  stack = await startStack();
});
test.afterAll(async () => {
  await stack?.stop();
});

/** Every message the browser logs about the Content Security Policy, from the moment this is called. */
function cspMessages(page: Page): string[] {
  const seen: string[] = [];
  page.on('console', (m) => {
    if (/Content Security Policy/i.test(m.text())) seen.push(m.text());
  });
  return seen;
}

test('every console page renders, hydrates and navigates in place with no CSP violation', async ({ page }) => {
  const violations = cspMessages(page);
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await signIn(page, stack, ADMIN); // the login and verify pages, client-side forms
  await page.evaluate(() => Object.assign(window, { sameDocument: true }));
  const pages: [link: string, heading: string][] = [
    ['SSH keys', 'SSH keys'],
    ['Account', 'Account'],
    ['Hosts', 'Hosts'],
    ['Operations', 'Operations'],
    ['Drift', 'Drift'],
    ['Usage', 'Usage'],
    ['All capsuls', 'All capsuls'],
    ['Capsuls', 'Your capsuls'],
  ];
  for (const [link, heading] of pages) {
    await page.getByRole('navigation', { name: 'Console' }).getByRole('link', { name: link, exact: true }).click();
    await expect(page.locator('main h1')).toContainText(heading);
  }
  await page.getByRole('link', { name: 'Create a capsul' }).click();
  await page.getByRole('radio', { name: /Small/ }).check();
  await expect(page.getByText('A host has room for this size.')).toBeVisible(); // a query from the client
  // Each link was followed by the client-side router: a page load would have cleared the marker.
  expect(await page.evaluate(() => (window as unknown as { sameDocument?: boolean }).sameDocument)).toBe(true);
  expect(violations).toEqual([]);
  expect(errors).toEqual([]);
});

test('a page on another origin of the same site that frames the console is refused by the browser', async ({ page }) => {
  await signIn(page, stack, 'framed@example.com');
  // https://localhost:<other port>: another origin, but the same site, so the session cookie (SameSite=Lax)
  // would be sent with the framed request, and a click in the frame would act as the signed-in account.
  const port = await freePort();
  const target = `${stack.url}/capsuls`;
  const attacker = https.createServer({ cert: readFileSync(e2eTls.certFile), key: readFileSync(e2eTls.keyFile) }, (_req, res) => {
    res.writeHead(200, { 'content-type': 'text/html' }).end(`<!doctype html><title>win a prize</title><iframe id="console" src="${target}" width="800" height="600"></iframe>`);
  });
  await new Promise<void>((resolve) => attacker.listen(port, '127.0.0.1', resolve));
  try {
    const violations = cspMessages(page);
    await page.goto(`https://localhost:${port}/`);
    await page.locator('iframe#console').waitFor();
    await expect.poll(() => violations.some((m) => m.includes("frame-ancestors 'none'")), { message: 'the browser says it refused the frame' }).toBe(true);
    const framed = page.frames().find((f) => f !== page.mainFrame());
    expect(framed, 'the iframe exists').toBeTruthy();
    expect(framed!.url()).not.toBe(target);
    await expect(page.frameLocator('iframe#console').getByRole('heading', { name: 'Your capsuls' })).toHaveCount(0);
  } finally {
    await new Promise((resolve) => attacker.close(resolve));
  }
});

test('an inline script injected into a console page does not run, while the page\'s own scripts do', async ({ page }) => {
  await signIn(page, stack, 'injected@example.com');
  // As a markup injection would: the hub's own answer (and its headers) with an inline script and an inline
  // event handler added to the HTML. The browser decides under the policy the hub sent.
  const fetch = httpsFetch({ ca: readFileSync(e2eTls.caFile) }); // Playwright's own fetch does not trust the e2e CA
  await page.route(`${stack.url}/capsuls`, async (route) => {
    const { 'accept-encoding': _, ...headers } = await route.request().allHeaders();
    const response = await fetch(route.request().url(), { headers });
    const html = (await response.text()).replace(
      '<body>',
      '<body><script>window.viaScript = true</script><img src="data:," onerror="window.viaHandler = true" alt="">',
    );
    const { 'content-length': _length, 'content-encoding': _encoding, ...answer } = Object.fromEntries(response.headers);
    await route.fulfill({ status: response.status, headers: answer, body: html });
  });
  const violations = cspMessages(page);
  await page.goto(`${stack.url}/capsuls`);
  await expect(page.getByRole('heading', { name: 'Your capsuls' })).toBeVisible();
  await expect.poll(() => violations.length, { message: 'the browser reports both refusals' }).toBeGreaterThanOrEqual(2);
  const ran = await page.evaluate(() => {
    const w = window as unknown as { viaScript?: boolean; viaHandler?: boolean };
    return { viaScript: w.viaScript ?? false, viaHandler: w.viaHandler ?? false };
  });
  expect(ran).toEqual({ viaScript: false, viaHandler: false });
  expect(violations.some((m) => /inline script/i.test(m))).toBe(true);
  expect(violations.some((m) => /inline event handler/i.test(m))).toBe(true);
  // The page's own (nonced) scripts ran: it hydrated, and its links navigate in place.
  await page.unroute(`${stack.url}/capsuls`);
  await page.evaluate(() => Object.assign(window, { sameDocument: true }));
  await page.getByRole('link', { name: 'SSH keys' }).click();
  await expect(page.locator('main h1')).toContainText('SSH keys');
  expect(await page.evaluate(() => (window as unknown as { sameDocument?: boolean }).sameDocument)).toBe(true);
});
