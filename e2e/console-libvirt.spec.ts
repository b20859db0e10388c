// The same journey with a real VM: one spoke on libvirt + QEMU (the test guest), one on the fake driver
// that lacks the image, so the create lands on the libvirt host.
import { expect, test } from '@playwright/test';
import { disksDir, domainState, requireLibvirt, testGuestImages } from '../test/support/libvirt';
import { signIn } from './support/console';
import { shot } from './support/screenshots';
import { startStack, type Stack } from './support/stack';

const KEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGvatMdwSOLaKEdOnZWAjMM8ufgWQtrOIXrHIPn9Swud alice@laptop';

test.describe.configure({ mode: 'serial' });

let stack: Stack;

test.beforeAll(async () => {
  await requireLibvirt();
  const images = await testGuestImages();
  stack = await startStack([
    { SPOKE_DRIVER: 'libvirt', LIBVIRT_DOMAIN_TYPE: 'qemu', SPOKE_IMAGES_DIR: images.dir, SPOKE_DISKS_DIR: await disksDir('e2e'), SPOKE_MEMORY_RESERVE_MB: '512' },
    { FAKE_IMAGES: 'debian-12' },
  ]);
  const { id, name, file, kernel, initrd, cmdline } = images.image;
  await stack.hub.admin.image.upsert.mutate({ id, name, file, kernel, initrd, cmdline });
});
test.afterAll(async () => {
  await stack?.stop();
});

test('a real capsul: created from the console, running with its lease and keys, its serial console and screen (back by itself after a spoke restart), restarted, deleted', async ({ page }) => {
  await signIn(page, stack, 'vm@example.com');
  await page.goto(`${stack.url}/keys`);
  await page.getByLabel('Name').fill('laptop');
  await page.getByLabel('Public key').fill(KEY);
  await page.getByRole('button', { name: 'Add key' }).click();
  await expect(page.getByRole('cell', { name: 'laptop', exact: true })).toBeVisible();

  await page.goto(`${stack.url}/capsuls/new`);
  await page.getByRole('radio', { name: /Nano/ }).check();
  await page.getByLabel('Image').selectOption('capsul-test-guest');
  await page.getByRole('checkbox', { name: /laptop/ }).check();
  await page.getByRole('button', { name: 'Create capsul' }).click();
  await page.waitForURL(/\/capsuls\/capsul-[a-z0-9]{10}$/);
  const id = page.url().split('/').pop()!;
  const state = page.getByTestId('capsul-state');
  await expect(state).toHaveText('creating');
  await expect(state).toHaveText('running', { timeout: 150_000 });
  const address = (await page.getByTestId('capsul-address').textContent())!.trim();
  expect(address).toMatch(/^192\.168\.122\.\d+$/);
  expect(await domainState(id)).toBe('running');

  // The guest itself says which keys it was given.
  await expect
    .poll(async () => fetch(`http://${address}/keys`, { signal: AbortSignal.timeout(2000) }).then((r) => r.text()).catch(() => ''), { timeout: 60_000 })
    .toBe(`${KEY}\n`);

  // The serial console: the boot log on opening, then the guest's shell answers `hostname` with the capsul id.
  const rows = page.getByTestId('serial-console').locator('.xterm-rows');
  await page.getByRole('button', { name: 'Open console' }).click();
  await expect(page.getByTestId('console-status')).toHaveText(/^Attached\.$/, { timeout: 30_000 });
  await expect(rows).toContainText(`capsul-guest: boot 1 as ${id}`, { timeout: 120_000 });
  await expect(rows).toContainText('console shells on ttyS0', { timeout: 120_000 });
  await page.getByTestId('serial-console').click();
  await page.keyboard.press('Enter');
  await page.keyboard.type('hostname');
  await page.keyboard.press('Enter');
  await expect(rows).toContainText(new RegExp(`hostname\\s*${id}`), { timeout: 30_000 });

  await page.getByRole('button', { name: 'Restart' }).click();
  await expect(page.getByRole('row', { name: /restart/ }).first()).toContainText('completed');
  await expect
    .poll(async () => fetch(`http://${address}/boot`, { signal: AbortSignal.timeout(2000) }).then((r) => r.text()).catch(() => ''), { timeout: 120_000 })
    .toBe('2\n');
  // The console shows the new boot (live, or after it attached again by itself).
  await expect(rows).toContainText(`capsul-guest: boot 2 as ${id}`, { timeout: 120_000 });
  await shot(page.getByRole('region', { name: 'Console' }), 'console-serial');
  await page.getByRole('button', { name: 'Close console' }).click();

  // The graphical console: noVNC shows the VGA screen; its canvas is not blank.
  await page.getByRole('tab', { name: 'Screen' }).click();
  await page.getByRole('button', { name: 'Open screen' }).click();
  await expect(page.getByTestId('vnc-status')).toHaveText('Attached to the screen.', { timeout: 30_000 });
  const canvas = page.getByTestId('vnc-console').locator('canvas');
  await expect(canvas).toBeVisible();
  await expect
    .poll(
      async () =>
        canvas.evaluate((el: HTMLCanvasElement) => {
          const ctx = el.getContext('2d');
          if (!ctx || el.width === 0 || el.height === 0) return 0;
          const { data } = ctx.getImageData(0, 0, el.width, el.height);
          // Distinct colours in the frame: a blank (one-colour) screen has one.
          const seen = new Set<number>();
          for (let i = 0; i < data.length && seen.size < 50; i += 4 * 7) seen.add((data[i]! << 16) | (data[i + 1]! << 8) | data[i + 2]!);
          return seen.size;
        }),
      { timeout: 60_000 },
    )
    .toBeGreaterThan(1);
  // The same frame as a screenshot: more than one colour in its pixels too.
  const png = await canvas.screenshot();
  await shot(page.getByRole('region', { name: 'Console' }), 'console-screen');
  expect(png.length).toBeGreaterThan(1000);
  await expect(page.getByRole('button', { name: 'Send Ctrl-Alt-Del' })).toBeEnabled();
  // The spoke restarts under an open screen: "Reconnecting…", then the screen is back by itself.
  await stack.restartSpoke('spoke-1', async () => {
    await expect(page.getByTestId('vnc-status')).toContainText('Reconnecting…', { timeout: 20_000 });
  });
  await expect(page.getByTestId('vnc-status')).toHaveText('Attached to the screen.', { timeout: 60_000 });
  await page.getByRole('button', { name: 'Close screen' }).click();

  await page.getByRole('button', { name: 'Delete capsul' }).click();
  await page.getByRole('dialog').getByRole('button', { name: 'Delete it' }).click();
  await page.waitForURL(`${stack.url}/capsuls`);
  await expect(page.getByText('No capsuls yet.')).toBeVisible();
  expect(await domainState(id)).toBeNull();
});
