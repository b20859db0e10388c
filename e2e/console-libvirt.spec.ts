// The same journey with a real VM: one spoke on libvirt + QEMU (the test guest), one on the fake driver
// that lacks the image, so the create lands on the libvirt host.
import { expect, test } from '@playwright/test';
import { disksDir, domainState, requireLibvirt, testGuestImages } from '../test/support/libvirt';
import { signIn } from './support/console';
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

test('a real capsul: created from the console, running with its lease and keys, restarted, deleted', async ({ page }) => {
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

  await page.getByRole('button', { name: 'Restart' }).click();
  await expect(page.getByRole('row', { name: /restart/ }).first()).toContainText('completed');
  await expect
    .poll(async () => fetch(`http://${address}/boot`, { signal: AbortSignal.timeout(2000) }).then((r) => r.text()).catch(() => ''), { timeout: 120_000 })
    .toBe('2\n');

  await page.getByRole('button', { name: 'Delete capsul' }).click();
  await page.getByRole('dialog').getByRole('button', { name: 'Delete it' }).click();
  await page.waitForURL(`${stack.url}/capsuls`);
  await expect(page.getByText('No capsuls yet.')).toBeVisible();
  expect(await domainState(id)).toBeNull();
});
