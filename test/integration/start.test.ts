// The README's quick start, run on a fresh copy of the repository: it installs what it needs, starts the
// hub and a local spoke on the embedded database, and the hub answers over HTTPS with the generated CA.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { chmod, mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import { createHubAdminClient } from '~/cli/hub-admin-client';
import { httpsFetch } from '~/lib/https-fetch';
import { CapsulProcess, freePort, ROOT, until } from '../support/processes';

const START_COMMAND = './scripts/start.sh';

describe('quick start', () => {
  let copy: string | undefined;
  let proc: CapsulProcess | undefined;

  after(async () => {
    await proc?.stop();
    if (copy) await rm(copy, { recursive: true, force: true });
  });

  test('README names this start command', async () => {
    const readme = await readFile(path.join(ROOT, 'README.md'), 'utf8');
    assert.ok(readme.includes(START_COMMAND), `README.md should give ${START_COMMAND}`);
  });

  test('on a fresh copy, the start command brings up the hub over HTTPS with the local spoke online', async () => {
    copy = await mkdtemp(path.join(os.tmpdir(), 'capsul-fresh-'));
    await chmod(copy, 0o755); // as a clone's folder is (QEMU, its own user, reads the images under .data)
    // What a clone holds: the tracked files (and new ones not ignored), nothing generated, no .data, no node_modules.
    execFileSync('bash', ['-c', `cd "${ROOT}" && git ls-files -z --cached --others --exclude-standard | tar --null --ignore-failed-read -T - -cf - | tar -xf - -C "${copy}"`]);

    const port = await freePort();
    const spokePort = await freePort();
    proc = await CapsulProcess.start(
      'quickstart',
      { PORT: String(port), SPOKE_PORT: String(spokePort), npm_config_cache: process.env.npm_config_cache ?? path.join(os.homedir(), '.npm') },
      { command: ['bash', START_COMMAND], cwd: copy, timeoutMs: 600_000 },
    );

    const ca = await readFile(path.join(copy, '.data/tls/ca.pem'));
    const fetch = httpsFetch({ ca });
    const page = await fetch(`https://localhost:${port}/`);
    assert.equal(page.status, 200);
    assert.match(await page.text(), /Capsul/);

    const secrets = JSON.parse(await readFile(path.join(copy, '.data/secrets.json'), 'utf8')) as { adminToken: string };
    const admin = createHubAdminClient({ hubUrl: `https://localhost:${port}`, adminToken: secrets.adminToken, ca });
    const local = await until('the local spoke online', async () => (await admin.host.list.query()).find((h) => h.id === 'local' && h.online));
    assert.ok(local.driver === 'fake' || local.driver === 'libvirt');
    const said = proc.logs().split('\n').find((l) => l.includes('"msg":"spoke driver: '));
    assert.ok(said, 'the log says which driver the spoke runs');

    // On libvirt, an image that boots is provided (the fake driver needs none).
    if (local.driver === 'libvirt') {
      await proc.waitFor((l) => /added to the catalog as capsul-test-guest/.test(l.msg ?? ''), 300_000);
      const guest = await until('the test guest offered', async () => (await admin.capsul.capacity.query({ size: 'nano' })).images.find((i) => i.id === 'capsul-test-guest' && i.available));
      assert.ok(guest);
    }

    // The start line says where the console is and how to sign in; and nothing warns that a newcomer cannot
    // act on (npm's engine warning, the local spoke's first call to a hub not up yet, the build's warnings).
    const lines = proc.logs().split('\n');
    assert.ok(
      lines.some((l) => l.includes(`The console is at https://localhost:${port}`) && l.includes(`https://localhost:${port}/dev/mailbox`)),
      'the start line says where the console is and where sign-in links go',
    );
    assert.deepEqual(lines.filter((l) => /^npm (warn|WARN)|EBADENGINE/.test(l)), [], 'npm warns about nothing');
    assert.deepEqual(lines.filter((l) => /warning/i.test(l) && !l.startsWith('{')), [], 'the build warns about nothing');
    assert.deepEqual(lines.filter((l) => /"level":"(warn|error)"/.test(l)), [], 'the hub and spoke warn about nothing');
  });
});
