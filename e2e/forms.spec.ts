// The console's forms in a real browser: a bad field shows one message, in plain words, next to that field,
// and it goes once the field is changed; keys show as ssh-keygen -l prints them; limits refuse a create naming
// themselves, and the account page shows use against them.
import { mkdtemp, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { expect, test, type Locator, type Page } from '@playwright/test';
import { execa } from 'execa';
import { signIn } from './support/console';
import { shot } from './support/screenshots';
import { ADMIN, startStack, type Stack } from './support/stack';

const KEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGvatMdwSOLaKEdOnZWAjMM8ufgWQtrOIXrHIPn9Swud alice@laptop';

// Everything on a page that reads as a message about a mistake.
const MESSAGES = '.error, .notice.bad, [role="alert"]';

/** The page shows exactly one message, this one, and it is inside the field's own box (or the fieldset of a choice). */
async function expectOneMessageAt(page: Page, control: Locator, text: string) {
  const messages = page.locator('main').locator(MESSAGES);
  await expect(messages).toHaveCount(1);
  await expect(messages).toHaveText(text);
  const box = control.locator('xpath=ancestor-or-self::*[self::fieldset or contains(concat(" ", normalize-space(@class), " "), " field ")][1]');
  await expect(box.locator(MESSAGES)).toHaveText(text);
}

async function expectNoMessage(page: Page) {
  await expect(page.locator('main').locator(MESSAGES)).toHaveCount(0);
}

/** What `ssh-keygen -l` prints for a public key line. */
async function keygen(line: string): Promise<string> {
  const file = path.join(await mkdtemp(path.join(os.tmpdir(), 'capsul-e2e-key-')), 'key.pub');
  await writeFile(file, `${line}\n`);
  return (await execa('ssh-keygen', ['-l', '-f', file])).stdout.trim();
}

test.describe.configure({ mode: 'serial' });

let stack: Stack;

test.beforeAll(async () => {
  stack = await startStack();
});
test.afterAll(async () => {
  await stack?.stop();
});

test('each form with a bad field shows one message, next to that field, until the field is changed', async ({ page }) => {
  // Sign-in
  await page.goto(`${stack.url}/login`);
  const email = page.getByLabel('Email address');
  await email.fill('not an email');
  await page.getByRole('button', { name: 'Mail me a sign-in link' }).click();
  await expectOneMessageAt(page, email, 'Enter an email address like you@example.com.');
  await expect(email).toHaveAttribute('aria-invalid', 'true');
  await email.fill('alice@example.com');
  await expectNoMessage(page);
  await expect(email).not.toHaveAttribute('aria-invalid', 'true');

  await signIn(page, stack, 'alice@example.com');

  // Keys
  await page.goto(`${stack.url}/keys`);
  const name = page.getByLabel('Name');
  const content = page.getByLabel('Public key');
  await name.fill('laptop');
  await content.fill('ssh-rsa not-a-key');
  await page.getByRole('button', { name: 'Add key' }).click();
  await expectOneMessageAt(page, content, 'The key body is not base64.');
  await content.fill(KEY);
  await expectNoMessage(page);
  await name.fill('');
  await page.getByRole('button', { name: 'Add key' }).click();
  await expectOneMessageAt(page, name, 'Give the key a name.');
  await name.fill('laptop');
  await expectNoMessage(page);
  await page.getByRole('button', { name: 'Add key' }).click();
  await expect(page.getByRole('cell', { name: 'laptop', exact: true })).toBeVisible();
  await expectNoMessage(page);

  // Create: nothing picked is said under each choice, and goes once it is picked.
  await page.goto(`${stack.url}/capsuls/new`);
  const size = page.getByRole('group', { name: 'Size' });
  const image = page.getByLabel('Image');
  await image.selectOption('debian-12');
  await page.getByRole('button', { name: 'Create capsul' }).click();
  await expectOneMessageAt(page, size, 'Pick a size.');
  await page.getByRole('radio', { name: /Nano/ }).check();
  await expectNoMessage(page);
  await image.selectOption('');
  await expectOneMessageAt(page, image, 'Choose an image.');
  await image.selectOption('debian-12');
  await expectNoMessage(page);

  // A size past the account's vCPU limit: the hub's refusal is shown under the size, and goes with another size.
  await stack.hub.admin.limits.set.mutate({ account: 'alice@example.com', vcpus: 1 });
  await page.getByRole('radio', { name: /Medium/ }).check();
  await page.getByRole('button', { name: 'Create capsul' }).click();
  await expectOneMessageAt(
    page,
    size,
    'You have 0 of 1 vCPU allowed, and this capsul needs 2 vCPUs more; pick a smaller size, delete a capsul, or ask an admin to raise your limit.',
  );
  await page.getByRole('radio', { name: /Nano/ }).check();
  await expectNoMessage(page);
  // No capsul allowed at all: one message for the whole form.
  await stack.hub.admin.limits.set.mutate({ account: 'alice@example.com', capsuls: 0 });
  await page.getByRole('button', { name: 'Create capsul' }).click();
  await expect(page.locator('main').locator(MESSAGES)).toHaveCount(1);
  await expect(page.locator('main .notice.bad')).toHaveText('You have 0 of 0 capsuls allowed; delete one first, or ask an admin to raise your limit.');
  await stack.hub.admin.limits.clear.mutate({ account: 'alice@example.com' });

  // The admin's forms
  await signIn(page, stack, ADMIN);
  await page.goto(`${stack.url}/admin/hosts`);
  const hostId = page.getByLabel('Id');
  const hostUrl = page.getByLabel('Spoke URL');
  await hostId.fill('Bad Id;');
  await hostUrl.fill('https://127.0.0.1:9');
  await page.getByRole('button', { name: 'Add host' }).click();
  await expectOneMessageAt(page, hostId, 'Use 1 to 63 lower-case letters, digits and dashes, starting and ending with a letter or digit.');
  await hostId.fill('rack1-node2');
  await expectNoMessage(page);
  await hostUrl.fill('http://127.0.0.1:9');
  await page.getByRole('button', { name: 'Add host' }).click();
  await expectOneMessageAt(page, hostUrl, 'Must be https:// (plain http:// only with ALLOW_INSECURE_HTTP=true, for development).');
  await hostUrl.fill('https://127.0.0.1:9');
  await expectNoMessage(page);
  await hostId.fill('spoke-1');
  await page.getByRole('button', { name: 'Add host' }).click();
  await expectOneMessageAt(page, hostId, 'There is a host spoke-1 already; pick another id.');

  await page.goto(`${stack.url}/admin/operations`);
  const capsul = page.getByLabel('Capsul');
  await capsul.fill('nope');
  await page.getByRole('button', { name: 'Filter' }).click();
  await expectOneMessageAt(page, capsul, 'A capsul id is "capsul-" and 10 lower-case letters or digits.');
  await capsul.fill('');
  await expectNoMessage(page);

  await page.goto(`${stack.url}/admin/limits`);
  const capsuls = page.locator('#default-capsuls');
  await capsuls.fill('-1');
  await page.getByRole('button', { name: 'Save the default' }).click();
  await expectOneMessageAt(page, capsuls, 'Must be at least 0.');
  await capsuls.fill('1.5');
  await expectNoMessage(page);
  await page.getByRole('button', { name: 'Save the default' }).click();
  await expectOneMessageAt(page, capsuls, 'Must be a whole number.');
  await capsuls.fill('');
  await expectNoMessage(page);
  const account = page.getByLabel('Account email');
  await account.fill('nobody');
  await page.locator('#account-memoryMb').fill('2048');
  await page.getByRole('button', { name: 'Save for this account' }).click();
  await expectOneMessageAt(page, account, 'Enter an email address like you@example.com.');
  await account.fill('bob@example.com');
  await expectNoMessage(page);
});

test('keys show as ssh-keygen -l prints them, here and in the create form; the same key again is refused', async ({ page }) => {
  const expected = await keygen(KEY);
  await signIn(page, stack, 'alice@example.com');
  await page.goto(`${stack.url}/keys`);
  await expect(page.getByRole('row', { name: /laptop/ })).toContainText(expected);
  // The same key body under another comment.
  await page.getByLabel('Name').fill('desktop');
  const content = page.getByLabel('Public key');
  await content.fill(KEY.replace('alice@laptop', 'alice@desktop'));
  await page.getByRole('button', { name: 'Add key' }).click();
  await expectOneMessageAt(page, content, 'This key is already added, as "laptop".');
  await shot(page, 'keys-duplicate');

  await page.goto(`${stack.url}/capsuls/new`);
  await expect(page.getByRole('checkbox', { name: /laptop/ })).toBeVisible();
  await expect(page.locator('label.choice', { hasText: 'laptop' })).toContainText(expected);
});

test('the account page shows what the account holds against its limits', async ({ page }) => {
  await stack.hub.admin.limits.set.mutate({ capsuls: 5, diskGb: 100 });
  await stack.hub.admin.limits.set.mutate({ account: 'alice@example.com', capsuls: 2, memoryMb: 2048 });
  await stack.hub.admin.capsul.create.mutate({ owner: 'alice@example.com', image: 'debian-12', size: 'nano' });
  await signIn(page, stack, 'alice@example.com');
  await page.goto(`${stack.url}/account`);
  const row = (limit: string) => page.locator(`tr[data-limit="${limit}"]`);
  await expect(row('capsuls')).toHaveText(/Capsuls\s*1\s*2/);
  await expect(row('vcpus')).toHaveText(/vCPUs\s*1\s*no limit/);
  await expect(row('memoryMb')).toHaveText(/Memory\s*512 MiB\s*2048 MiB/);
  await expect(row('diskGb')).toHaveText(/Disk\s*10 GiB\s*100 GiB/);
  await shot(page, 'account');

  await signIn(page, stack, ADMIN);
  await page.goto(`${stack.url}/admin/limits`);
  await expect(page.locator('#default-capsuls')).toHaveValue('5');
  await expect(page.locator('tr[data-account="alice@example.com"]')).toContainText('1 of 2');
  await shot(page, 'limits');
});
