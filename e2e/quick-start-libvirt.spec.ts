// A newcomer's first capsul, on a machine with libvirt and no image: the README's first command in a fresh
// copy of the repository (nothing generated, no .data, no node_modules) on free ports, then in a browser:
// sign in through the local mailbox, create a capsul from the first image offered, see it running. Nothing
// is done by hand in between: the quick start builds and lists the test guest itself.
import { execFileSync } from 'node:child_process';
import { chmod, mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { chromium, expect, test, type Browser } from '@playwright/test';
import { execa } from 'execa';
import { createHubAdminClient, type HubAdminClient } from '../src/cli/hub-admin-client';
import { domainState, requireLibvirt, virsh } from '../test/support/libvirt';
import { CapsulProcess, freePort, ROOT, until } from '../test/support/processes';

test.describe.configure({ mode: 'serial', timeout: 900_000 });

let copy: string;
let proc: CapsulProcess | undefined;
let browser: Browser | undefined;
let admin: HubAdminClient;
let url: string;
let capsulId: string | undefined;

test.beforeAll(async ({}, testInfo) => {
  await requireLibvirt();
  // Where a clone would be: a folder others may pass through (QEMU runs as its own user and reads the
  // images under .data; a home folder of mode 0700 would make the spoke warn, rightly).
  copy = await mkdtemp(path.join(os.tmpdir(), 'capsul-newcomer-'));
  await chmod(copy, 0o755);
  execFileSync('bash', ['-c', `cd "${ROOT}" && git ls-files -z --cached --others --exclude-standard | tar --null --ignore-failed-read -T - -cf - | tar -xf - -C "${copy}"`]);
  const port = await freePort();
  url = `https://localhost:${port}`;
  proc = await CapsulProcess.start(
    'quickstart',
    { PORT: String(port), SPOKE_PORT: String(await freePort()), npm_config_cache: process.env.npm_config_cache ?? path.join(os.homedir(), '.npm') },
    { command: ['bash', './scripts/start.sh'], cwd: copy, timeoutMs: 600_000 },
  );

  // The browser trusts the CA the quick start made, as the README asks a newcomer to (a profile of its own).
  const ca = path.join(copy, '.data/tls/ca.pem');
  const home = path.join(copy, 'browser-home');
  const nssdb = path.join(home, '.pki/nssdb');
  await mkdir(nssdb, { recursive: true });
  await execa('certutil', ['-N', '-d', `sql:${nssdb}`, '--empty-password']);
  await execa('certutil', ['-A', '-d', `sql:${nssdb}`, '-n', 'capsul-quick-start-ca', '-t', 'C,,', '-i', ca]);
  const launch = testInfo.project.use.launchOptions ?? {};
  browser = await chromium.launch({ ...launch, env: { ...process.env, HOME: home } });

  const secrets = JSON.parse(await readFile(path.join(copy, '.data/secrets.json'), 'utf8')) as { adminToken: string };
  admin = createHubAdminClient({ hubUrl: url, adminToken: secrets.adminToken, ca: await readFile(ca) });
});

test.afterAll(async () => {
  await browser?.close();
  // Never leave a real guest behind, whatever happened above.
  if (capsulId && (await domainState(capsulId)) !== null) {
    await admin.capsul.destroy.mutate({ id: capsulId }).catch(async () => {
      await virsh('destroy', capsulId!);
      await virsh('undefine', capsulId!);
    });
  }
  await proc?.stop();
  if (copy) await rm(copy, { recursive: true, force: true });
});

test('the first start provides an image that boots: sign in, create a capsul named by the newcomer from the first image offered, see it running under its name', async () => {
  const local = await until('the local spoke online', async () => (await admin.host.list.query()).find((h) => h.id === 'local' && h.online), 60_000);
  expect(local.driver).toBe('libvirt');
  // The quick start says what it is doing while it builds the test guest (a few seconds with a warm apt cache).
  await proc!.waitFor((l) => /^building the test guest image into /.test(l.msg ?? ''), 30_000);
  await proc!.waitFor((l) => /added to the catalog as capsul-test-guest/.test(l.msg ?? ''), 300_000);

  const page = await browser!.newPage();
  await page.goto(`${url}/login`);
  await page.getByLabel('Email address').fill('newcomer@example.com');
  await page.getByRole('button', { name: 'Mail me a sign-in link' }).click();
  await expect(page.getByRole('status')).toContainText('We sent a sign-in link to newcomer@example.com');
  // No mail server: the start line said the link is on /dev/mailbox.
  await page.goto(`${url}/dev/mailbox`);
  await page.getByRole('link', { name: /\/login\/verify\?token=/ }).first().click();
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForURL(`${url}/capsuls`);

  // Until the spoke has reported the new files, the hub does not offer the guest: look again.
  const first = page.getByLabel('Image').locator('option:not([value=""]):not([disabled])').first();
  await expect(async () => {
    await page.goto(`${url}/capsuls/new`);
    await expect(first).toHaveText(/Test guest/, { timeout: 2000 });
  }).toPass({ timeout: 30_000 });
  // The form suggests a name; the newcomer gives their own.
  await expect(page.getByLabel('Name')).toHaveValue(/^[a-z]+-[a-z]+(-\d+)?$/);
  await page.getByLabel('Name').fill('my-first-capsul');
  await page.getByRole('radio', { name: /Nano/ }).check();
  await page.getByLabel('Image').selectOption((await first.getAttribute('value'))!);
  await expect(page.getByTestId('image-availability')).toHaveText('A host has this image and room for this size.');
  await page.getByRole('button', { name: 'Create capsul' }).click();
  await page.waitForURL(/\/capsuls\/capsul-[a-z0-9]{10}$/);
  capsulId = page.url().split('/').pop()!;
  await expect(page.getByTestId('capsul-state')).toHaveText('running', { timeout: 180_000 });
  await expect(page.getByTestId('capsul-address')).toHaveText(/^192\.168\.122\.\d+$/);
  expect(await domainState(capsulId)).toBe('running');
  await expect(page.getByRole('heading', { level: 1 })).toHaveText('my-first-capsul');
  // The list shows it by its name, running, and leads back to it.
  await page.goto(`${url}/capsuls`);
  const row = page.getByRole('row').filter({ hasText: 'my-first-capsul' });
  await expect(row).toContainText('running');
  await row.getByRole('link', { name: 'my-first-capsul' }).click();
  await page.waitForURL(`${url}/capsuls/${capsulId}`);

  await page.getByRole('button', { name: 'Delete capsul' }).click();
  await page.getByRole('dialog').getByRole('button', { name: 'Delete it' }).click();
  await page.waitForURL(`${url}/capsuls`);
  expect(await domainState(capsulId)).toBeNull();
});
