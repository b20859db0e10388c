// The console in a real browser against a hub and two spokes (fake driver) on PostgreSQL, signing in with
// links that arrive over real SMTP.
import { expect, test } from '@playwright/test';
import { CapsulProcess } from '../test/support/processes';
import { signIn } from './support/console';
import { shot } from './support/screenshots';
import { ADMIN, e2eTls, startStack, type Stack } from './support/stack';

const KEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGvatMdwSOLaKEdOnZWAjMM8ufgWQtrOIXrHIPn9Swud alice@laptop';

test.describe.configure({ mode: 'serial' });

let stack: Stack;
let aliceCapsul: string;

test.beforeAll(async () => {
  stack = await startStack();
});
test.afterAll(async () => {
  await stack?.stop();
});

test('a person signs in with the mailed link, adds a key, creates a capsul and watches it run, restarts and deletes it', async ({ page }) => {
  await signIn(page, stack, 'alice@example.com');
  await shot(page, 'capsuls-empty');

  await page.getByRole('link', { name: 'SSH keys' }).click();
  await page.getByLabel('Name').fill('laptop');
  await page.getByLabel('Public key').fill(KEY);
  await page.getByRole('button', { name: 'Add key' }).click();
  await expect(page.getByRole('cell', { name: 'laptop', exact: true })).toBeVisible();
  await shot(page, 'keys');

  await page.getByRole('link', { name: 'Capsuls' }).click();
  await page.getByRole('link', { name: 'Create a capsul' }).click();
  // A free name is suggested; the person gives their own.
  await expect(page.getByLabel('Name')).toHaveValue(/^[a-z]+-[a-z]+/);
  await page.getByLabel('Name').fill('alice-web');
  await page.getByRole('radio', { name: /Small/ }).check();
  await expect(page.getByText('A host has room for this size.')).toBeVisible();
  await page.getByLabel('Image').selectOption('debian-12');
  await page.getByRole('checkbox', { name: /laptop/ }).check();
  await shot(page, 'create');
  await page.getByRole('button', { name: 'Create capsul' }).click();

  // The detail page opens while the spoke is still building; the state changes on screen, no reload.
  await page.waitForURL(/\/capsuls\/capsul-[a-z0-9]{10}$/);
  aliceCapsul = page.url().split('/').pop()!;
  const state = page.getByTestId('capsul-state');
  await expect(state).toHaveText('creating');
  await expect(page.locator('main h1')).toHaveText('alice-web');
  // Its steps move on screen as the host reports them.
  await expect(page.locator('[data-testid="create-steps"] li[data-step="booting"]')).toHaveAttribute('aria-current', 'step', { timeout: 30_000 });
  const navigations: string[] = [];
  page.on('framenavigated', (f) => f === page.mainFrame() && navigations.push(f.url()));
  await expect(state).toHaveText('running', { timeout: 30_000 });
  expect(navigations, 'no reload while waiting').toEqual([]);
  await expect(page.getByTestId('capsul-address')).toHaveText(/^10\.\d+\.\d+\.\d+$/);
  await expect(page.getByText(/^ssh debian@10\./)).toBeVisible();
  await shot(page, 'capsul');

  await page.getByRole('button', { name: 'Restart' }).click();
  // The operations table names the action.
  await expect(page.getByRole('row', { name: /restart/ }).first()).toContainText('completed');
  await expect(state).toHaveText('running');
  await expect(page.getByRole('row', { name: /power/ })).toHaveCount(0);

  // The list shows it too, under its name.
  await page.getByRole('link', { name: 'Capsuls' }).first().click();
  await expect(page.locator(`tr[data-capsul="${aliceCapsul}"]`)).toContainText('running');
  await expect(page.locator(`tr[data-capsul="${aliceCapsul}"] a`)).toHaveText('alice-web');
  await shot(page, 'capsuls');

  // At a phone's width the pages fit the screen: no sideways scrolling.
  await page.setViewportSize({ width: 390, height: 844 });
  for (const path of ['/capsuls', `/capsuls/${aliceCapsul}`, '/capsuls/new', '/keys', '/account']) {
    await page.goto(`${stack.url}${path}`);
    await expect(page.locator('main h1')).toBeVisible();
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    expect(overflow, `${path} fits a 390 px screen`).toBeLessThanOrEqual(0);
    if (path === '/capsuls') await shot(page, 'capsuls-phone');
  }
  await page.setViewportSize({ width: 1280, height: 720 });
});

test('another account can neither see nor reach that capsul', async ({ page }) => {
  await signIn(page, stack, 'bob@example.com');
  await expect(page.getByText('No capsuls yet.')).toBeVisible();
  const res = await page.goto(`${stack.url}/capsuls/${aliceCapsul}`);
  expect(res?.status()).toBe(404);
  // Nor through the API, from bob's own signed-in page.
  const statuses = await page.evaluate(async (id) => {
    const read = await fetch(`/api/trpc/capsul.byId?input=${encodeURIComponent(JSON.stringify({ json: { id } }))}`);
    const act = await fetch('/api/trpc/capsul.destroy', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ json: { id } }) });
    const ops = await fetch(`/api/trpc/capsul.operations?input=${encodeURIComponent(JSON.stringify({ json: { id } }))}`);
    return [read.status, act.status, ops.status];
  }, aliceCapsul);
  expect(statuses).toEqual([404, 404, 404]);
  // And no admin pages.
  expect((await page.goto(`${stack.url}/admin/hosts`))?.status()).toBe(404);
});

test('the owner deletes the capsul after confirming', async ({ page }) => {
  await signIn(page, stack, 'alice@example.com');
  await page.goto(`${stack.url}/capsuls`);
  // A row's link navigates within the app: a marker left on the window survives (a page load would clear it).
  await page.evaluate(() => Object.assign(window, { sameDocument: true }));
  await page.locator(`tr[data-capsul="${aliceCapsul}"] a`).click();
  await expect(page).toHaveURL(`${stack.url}/capsuls/${aliceCapsul}`);
  await expect(page.locator('main h1')).toHaveText('alice-web');
  await expect(page.getByTestId('capsul-id')).toHaveText(aliceCapsul);
  expect(await page.evaluate(() => (window as unknown as { sameDocument?: boolean }).sameDocument)).toBe(true);
  await page.getByRole('button', { name: 'Delete capsul' }).click();
  const dialog = page.getByRole('dialog');
  await expect(dialog).toContainText('Delete alice-web?');
  await dialog.getByRole('button', { name: 'Delete it' }).click();
  await page.waitForURL(`${stack.url}/capsuls`);
  await expect(page.getByText('No capsuls yet.')).toBeVisible();

  // Its page, opened again, says it is deleted, when and by whom, and offers nothing to do.
  await page.goto(`${stack.url}/capsuls/${aliceCapsul}`);
  await expect(page.getByTestId('capsul-state')).toHaveText('deleted');
  await expect(page.getByTestId('capsul-status')).toContainText(/Deleted \d{4}-\d\d-\d\d \d\d:\d\d UTC by you/);
  await expect(page.getByTestId('capsul-deleted')).toContainText('by you');
  for (const name of ['Start', 'Stop', 'Force stop', 'Restart', 'Delete capsul', 'Rename']) await expect(page.getByRole('button', { name, exact: true })).toHaveCount(0);
  await expect(page.getByTestId('capsul-address')).toHaveCount(0);
  await expect(page.getByText(/^ssh /)).toHaveCount(0);
  await expect(page.getByRole('row', { name: /destroy/ }).first()).toContainText('completed');
  await shot(page, 'capsul-deleted');
});

test('an admin adds a host, gives its token to a new spoke, and sees it come online', async ({ page }) => {
  await signIn(page, stack, ADMIN);
  await page.getByRole('link', { name: 'Hosts' }).click();
  await expect(page.locator('tr[data-host="spoke-1"]')).toContainText('online');
  const { freePort } = await import('../test/support/processes');
  const port = await freePort();
  await page.getByLabel('Id').fill('spoke-3');
  await page.getByLabel('Spoke URL').fill(`https://127.0.0.1:${port}`);
  await page.getByRole('button', { name: 'Add host' }).click();
  const env = await page.getByTestId('host-token').textContent();
  const token = /SPOKE_HOST_TOKEN=(\S+)/.exec(env ?? '')?.[1];
  const hubToken = /HUB_TOKEN=(\S+)/.exec(env ?? '')?.[1];
  expect(token).toMatch(/^[A-Za-z0-9_-]{43}$/);
  expect(hubToken).toMatch(/^[A-Za-z0-9_-]{43}$/);
  // Everything else the spoke needs: the hub's URL, its own, the CA to check the hub by (or the join command).
  const hubUrl = /^HUB_URL=(\S+)$/m.exec(env ?? '')?.[1];
  expect(hubUrl).toBe(stack.url);
  expect(env).toContain(`SPOKE_URL=https://127.0.0.1:${port}`);
  expect(env).toContain('TLS_CA_FILE=');
  const ca = await page.getByTestId('host-ca').textContent();
  expect(ca).toContain('-----BEGIN CERTIFICATE-----');
  await expect(page.getByText(`The hub's URL is ${stack.url}: a spoke on another machine cannot reach it.`)).toBeVisible();
  await expect(page.getByText('npm run capsul -- host join <id> <address> > <id>.env')).toBeVisible();
  const { writeFile } = await import('node:fs/promises');
  const caFile = `/tmp/capsul-e2e/spoke-3-ca-${port}.pem`;
  await writeFile(caFile, ca!);
  await expect(page.locator('tr[data-host="spoke-3"]')).toContainText('offline');
  await shot(page, 'hosts');

  const spoke = await CapsulProcess.start('spoke-3', {
    HUB_MODE: 'false', SPOKE_MODE: 'true', SPOKE_PORT: String(port), SPOKE_BIND_ADDRESS: '127.0.0.1',
    HUB_URL: hubUrl!, HUB_TOKEN: hubToken!, SPOKE_HOST_ID: 'spoke-3', SPOKE_HOST_TOKEN: token!,
    SPOKE_DRIVER: 'fake', DATA_DIR: `/tmp/capsul-e2e/spoke-3-${port}`,
    TLS_CERT_FILE: e2eTls.certFile, TLS_KEY_FILE: e2eTls.keyFile, TLS_CA_FILE: caFile, // the CA as the page showed it
  });
  try {
    await expect(page.locator('tr[data-host="spoke-3"]')).toContainText('online', { timeout: 30_000 });
    await expect(page.locator('tr[data-host="spoke-3"]')).toContainText('fake');
  } finally {
    await spoke.stop();
  }

  await page.getByRole('link', { name: 'Operations' }).click();
  await expect(page.locator('tr[data-operation]').first()).toBeVisible();
  await shot(page, 'operations');
  // Power actions by what they did, and capsuls by name too.
  await page.getByLabel('Kind').selectOption('vmState');
  await page.getByRole('button', { name: 'Filter' }).click();
  await expect(page.locator('tr[data-operation]').first()).toContainText('restart');
  await expect(page.locator('tr[data-operation]').first()).toContainText('alice-web');
  await page.getByRole('link', { name: 'Drift' }).click();
  await page.getByRole('button', { name: 'Compare now' }).click();
  await expect(page.getByRole('heading', { name: /In the database, not on their host/ })).toBeVisible();
  await shot(page, 'drift');
});
