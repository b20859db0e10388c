// The Console card in a real browser, fake driver: xterm.js shows the simulated boot banner from the spoke's
// boot log, typing `hostname` and Enter reads the capsul id back; a spoke restart shows "Reconnecting…" and
// the terminal is attached again by itself; the Screen tab says plainly that the fake driver has none.
import { expect, test } from '@playwright/test';
import { signIn } from './support/console';
import { startStack, type Stack } from './support/stack';

test.describe.configure({ mode: 'serial' });

let stack: Stack;

test.beforeAll(async () => {
  stack = await startStack([{ FAKE_CREATE_MS: '500' }, { FAKE_IMAGES: 'none' }]);
});
test.afterAll(async () => {
  await stack?.stop();
});

test('the serial console of a fake capsul: banner, hostname, reconnecting after a spoke restart; no screen, said plainly', async ({ page }) => {
  await signIn(page, stack, 'term@example.com');
  await page.goto(`${stack.url}/capsuls/new`);
  await page.getByRole('radio', { name: /Nano/ }).check();
  await page.getByLabel('Image').selectOption('debian-12');
  await page.getByRole('button', { name: 'Create capsul' }).click();
  await page.waitForURL(/\/capsuls\/capsul-[a-z0-9]{10}$/);
  const id = page.url().split('/').pop()!;
  await expect(page.getByTestId('capsul-state')).toHaveText('running', { timeout: 60_000 });

  const rows = page.getByTestId('serial-console').locator('.xterm-rows');
  await page.getByRole('button', { name: 'Open console' }).click();
  await expect(page.getByTestId('console-status')).toContainText('simulated console', { timeout: 20_000 });
  await expect(rows).toContainText(`booting ${id}`);
  await expect(rows).toContainText('SIMULATED serial console');
  await page.getByTestId('serial-console').click();
  await page.keyboard.type('hostname');
  await page.keyboard.press('Enter');
  await expect(rows).toContainText(new RegExp(`hostname\\s*${id}`));

  // The spoke that holds the capsul restarts: "Reconnecting…", then attached again with the boot log.
  const host = (await stack.hub.admin.capsul.byId.query({ id })).hostId;
  await stack.restartSpoke(host!, async () => {
    await expect(page.getByTestId('console-status')).toContainText('Reconnecting…', { timeout: 20_000 });
  });
  await expect(page.getByTestId('console-status')).toContainText('Attached.', { timeout: 60_000 });
  await expect(rows).toContainText(`booting ${id}`);
  await page.getByTestId('serial-console').click();
  await page.keyboard.type('echo again');
  await page.keyboard.press('Enter');
  await expect(rows).toContainText(/echo again\s*again/);
  // The session is in the capsul's operations: open while attached, completed once closed.
  const session = page.getByRole('row', { name: /console/ }).first();
  await expect(session).toContainText('open');
  await page.getByRole('button', { name: 'Close console' }).click();
  await expect(session).toContainText('completed');

  await page.getByRole('tab', { name: 'Screen' }).click();
  await page.getByRole('button', { name: 'Open screen' }).click();
  await expect(page.getByTestId('vnc-status')).toContainText('the fake driver has no graphical console', { timeout: 20_000 });
});
