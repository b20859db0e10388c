// Changes to a capsul from its page in a real browser, against a hub and fake-driver spokes whose changes take
// long enough to be seen running: resize, snapshots (take, revert, delete, a bad name refused on its field) and
// a rebuild confirmed by typing the name. Every wait is on what the page shows.
import { expect, test, type Locator, type Page } from '@playwright/test';
import { signIn } from './support/console';
import { shot } from './support/screenshots';
import { startStack, type Stack } from './support/stack';

const KEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGvatMdwSOLaKEdOnZWAjMM8ufgWQtrOIXrHIPn9Swud alice@laptop';
const ALICE = 'alice@example.com';

test.describe.configure({ mode: 'serial' });

let stack: Stack;

test.beforeAll(async () => {
  stack = await startStack([{ FAKE_CREATE_MS: '1500' }, { FAKE_CREATE_MS: '1500' }]);
});
test.afterAll(async () => {
  await stack?.stop();
});

/** The change shows as running in the card, then its outcome: completed. */
async function runsThenCompletes(card: Locator, running: string, outcome: string) {
  await expect(card.getByTestId('change-running')).toContainText(running);
  await expect(card.getByTestId('change-outcome')).toContainText(`${outcome}, completed`);
  await expect(card.getByTestId('change-running')).toHaveCount(0);
}

async function takeSnapshot(page: Page, snapshots: Locator, name: string, note?: string) {
  await snapshots.getByLabel('Snapshot name').fill(name);
  if (note) await snapshots.getByLabel('Note (optional)').fill(note);
  await snapshots.getByRole('button', { name: 'Take snapshot' }).click();
  await runsThenCompletes(snapshots, 'Taking a snapshot…', `snapshot "${name}"`);
  await expect(page.locator(`tr[data-snapshot="${name}"]`)).toContainText(/\d+(\.\d)? (MiB|GiB)/);
}

test('a member resizes a capsul, takes, reverts to and deletes snapshots, and rebuilds it, all from its page', async ({ page }) => {
  await signIn(page, stack, ALICE);
  await page.goto(`${stack.url}/keys`);
  await page.getByLabel('Name').fill('laptop');
  await page.getByLabel('Public key').fill(KEY);
  await page.getByRole('button', { name: 'Add key' }).click();
  await expect(page.getByRole('cell', { name: 'laptop', exact: true })).toBeVisible();

  const { capsulId } = await stack.hub.admin.capsul.create.mutate({ owner: ALICE, image: 'debian-12', size: 'nano', name: 'alice-box' });
  await page.goto(`${stack.url}/capsuls/${capsulId}`);
  await expect(page.getByTestId('capsul-state')).toHaveText('running', { timeout: 30_000 });
  const address = await page.getByTestId('capsul-address').textContent();
  expect(address).toMatch(/^10\.\d+\.\d+\.\d+$/);

  const resize = page.getByRole('region', { name: 'Resize' });
  const snapshots = page.getByRole('region', { name: 'Snapshots' });
  const rebuild = page.getByRole('region', { name: 'Rebuild' });

  // Resize: only larger sizes, nothing until one is picked; while it runs, the other cards offer nothing.
  await expect(resize.getByRole('radio')).toHaveCount(3);
  await expect(resize.getByText('A running capsul is stopped and started again')).toBeVisible();
  await expect(resize.getByRole('button', { name: 'Resize' })).toBeDisabled();
  await resize.getByRole('radio', { name: /Small/ }).check();
  await shot(page, 'capsul-changes');
  await resize.getByRole('button', { name: 'Resize' }).click();
  await expect(resize.getByTestId('change-running')).toContainText(/Resizing… started/);
  await expect(snapshots.getByTestId('change-running')).toContainText('Resizing…');
  await expect(snapshots.getByRole('button', { name: 'Take snapshot' })).toBeDisabled();
  await expect(rebuild.getByRole('button', { name: 'Rebuild' })).toBeDisabled();
  await expect(resize.getByTestId('change-outcome')).toContainText('resize to small, completed');
  await expect(page.getByTestId('capsul-size')).toHaveText('1 vCPU · 1 GiB · 25 GiB');
  await expect(page.getByTestId('capsul-state')).toHaveText('running');
  await expect(resize.getByRole('radio', { name: /Small/ })).toHaveCount(0);
  await expect(resize.getByRole('radio')).toHaveCount(2);

  // Snapshots: two taken, each listed with its note, size and time.
  await expect(snapshots.getByText('No snapshots yet.')).toBeVisible();
  await takeSnapshot(page, snapshots, 'before-upgrade', 'clean install');
  const first = page.locator('tr[data-snapshot="before-upgrade"]');
  await expect(first).toContainText('clean install');
  await expect(first).toContainText(/\d{4}-\d\d-\d\d \d\d:\d\d UTC/);
  await takeSnapshot(page, snapshots, 'after-upgrade');
  await expect(snapshots.getByTestId('snapshot-count')).toContainText(/^2 of \d+ snapshots, \d+(\.\d)? (MiB|GiB) in all\.$/);
  await shot(snapshots, 'snapshots');

  // A bad name: the hub's message on the name field, and nothing added.
  const name = snapshots.getByLabel('Snapshot name');
  await name.fill('x;rm');
  await snapshots.getByRole('button', { name: 'Take snapshot' }).click();
  await expect(snapshots.locator('#snapshot-name-error')).toContainText(/letters, digits/i);
  await expect(name).toHaveAttribute('aria-invalid', 'true');
  await expect(snapshots.locator('tr[data-snapshot]')).toHaveCount(2);
  await expect(snapshots.getByTestId('change-running')).toHaveCount(0);
  await name.fill('');
  await expect(snapshots.locator('#snapshot-name-error')).toHaveCount(0);

  // Revert to the first: the dialog says what goes; the second is gone after.
  await snapshots.getByRole('button', { name: 'Revert to before-upgrade' }).click();
  const dialog = page.getByRole('dialog');
  await expect(dialog).toContainText('Revert to before-upgrade?');
  await expect(dialog).toContainText('The current disk and the 1 snapshot taken after this one (after-upgrade) will be gone.');
  await shot(dialog, 'snapshot-revert');
  await dialog.getByRole('button', { name: 'Revert', exact: true }).click();
  await runsThenCompletes(snapshots, 'Reverting to a snapshot…', 'revert to "before-upgrade"');
  await expect(page.locator('tr[data-snapshot="after-upgrade"]')).toHaveCount(0);
  await expect(first).toBeVisible();
  await expect(page.getByTestId('capsul-state')).toHaveText('running');

  // Delete the first.
  await snapshots.getByRole('button', { name: 'Delete before-upgrade' }).click();
  await expect(dialog).toContainText('Delete snapshot before-upgrade?');
  await dialog.getByRole('button', { name: 'Delete it' }).click();
  await runsThenCompletes(snapshots, 'Deleting a snapshot…', 'delete snapshot "before-upgrade"');
  await expect(snapshots.locator('tr[data-snapshot]')).toHaveCount(0);
  await expect(snapshots.getByText('No snapshots yet.')).toBeVisible();

  // Rebuild with another image and the key: the button waits for the name, typed exactly.
  await expect(rebuild.getByText('Everything on its disk now is gone')).toBeVisible();
  await expect(rebuild).toContainText(`It keeps its id, its name and its address (${address})`);
  const button = rebuild.getByRole('button', { name: 'Rebuild' });
  await expect(button).toBeDisabled();
  await rebuild.getByLabel('Image').selectOption('ubuntu-24.04');
  await rebuild.getByRole('checkbox', { name: /laptop/ }).check();
  const confirm = rebuild.getByLabel('Type alice-box to confirm');
  await confirm.fill('alice-bo');
  await expect(button).toBeDisabled();
  await confirm.fill('alice-box');
  await expect(button).toBeEnabled();
  await shot(rebuild, 'rebuild');
  await button.click();
  await runsThenCompletes(rebuild, 'Rebuilding…', 'rebuild');
  await expect(page.getByTestId('capsul-image')).toHaveText('Ubuntu 24.04 LTS');
  await expect(page.getByTestId('capsul-address')).toHaveText(address!);
  await expect(page.getByTestId('capsul-state')).toHaveText('running');
  await expect(confirm).toHaveValue('');
  await expect(button).toBeDisabled();

  // The operations table has each change, newest first.
  for (const action of ['rebuild', 'delete snapshot "before-upgrade"', 'revert to "before-upgrade"', 'snapshot "after-upgrade"', 'snapshot "before-upgrade"', 'resize to small']) {
    await expect(page.getByRole('row', { name: action }).first()).toContainText('completed');
  }
});
