// Joining a spoke on another machine, with two network namespaces standing in for two machines: on the hub,
// `capsul host join` prints the spoke's environment (token, certificate signed by the hub's CA); on the
// spoke machine, scripts/join-spoke.sh installs and starts it; the host comes online.
import assert from 'node:assert/strict';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { execa } from 'execa';
import { createHubAdminClient, type HubAdminClient } from '~/cli/hub-admin-client';
import { createLan, type Lan } from '../support/netns';
import { CapsulProcess, ROOT, until } from '../support/processes';

describe('joining a spoke on another machine', () => {
  let lan: Lan;
  let hub: CapsulProcess;
  let spoke: CapsulProcess | undefined;
  let hubDir: string;
  let admin: HubAdminClient;
  let hubUrl: string;

  before(async () => {
    lan = await createLan(['hub', 'spoke']);
    hubDir = await mkdtemp(path.join(os.tmpdir(), 'capsul-join-hub-'));
    hubUrl = `https://${lan.address('hub')}:3000`;
  });
  after(async () => {
    await spoke?.stop();
    await hub?.stop();
    await lan?.destroy();
  });

  test('three commands: join on the hub, copy the file, join-spoke.sh on the spoke; the host comes online', async () => {
    // A hub as the quick start makes it, alone (no local spoke): generated CA and tokens, embedded database.
    hub = await CapsulProcess.start('hub', { HUB_MODE: 'true', SPOKE_MODE: 'false', DATA_DIR: hubDir, PUBLIC_URL: hubUrl, HEARTBEAT_PERIOD_MS: '1000' }, { command: CapsulProcess.command(lan.netns('hub')) });
    const secrets = JSON.parse(await readFile(path.join(hubDir, 'secrets.json'), 'utf8')) as { adminToken: string };
    admin = createHubAdminClient({ hubUrl, adminToken: secrets.adminToken, ca: await readFile(path.join(hubDir, 'tls/ca.pem')) });

    // 1. On the hub machine.
    const joined = await execa('ip', ['netns', 'exec', lan.netns('hub'), 'npm', 'run', '-s', 'capsul', '--', 'host', 'join', 'spoke-9', lan.address('spoke')], {
      cwd: ROOT,
      env: { DATA_DIR: hubDir, CAPSUL_HUB_URL: hubUrl },
    });
    const envText = joined.stdout;
    assert.match(envText, /^HUB_URL=https:\/\/10\.213\.\d+\.1:3000$/m);
    assert.match(envText, /^SPOKE_HOST_ID=spoke-9$/m);
    assert.match(envText, /^SPOKE_HOST_TOKEN=[A-Za-z0-9_-]{43}$/m);
    assert.match(envText, /^HUB_TOKEN=[A-Za-z0-9_-]{43}$/m); // this spoke's own
    assert.match(envText, /^TLS_CERT_B64=/m);
    const hostsNow = await admin.host.list.query();
    assert.deepEqual(hostsNow.map((h) => [h.id, h.httpsUrl, h.online]), [['spoke-9', `https://${lan.address('spoke')}:8443`, false]]);

    // 2. The file goes to the spoke machine.
    const spokeDir = await mkdtemp(path.join(os.tmpdir(), 'capsul-join-spoke-'));
    const envFile = path.join(spokeDir, 'spoke.env');
    await writeFile(envFile, envText, { mode: 0o600 });

    // 3. On the spoke machine.
    spoke = await CapsulProcess.start('spoke-9', { DATA_DIR: path.join(spokeDir, 'data'), SPOKE_BIND_ADDRESS: lan.address('spoke') }, {
      command: ['ip', 'netns', 'exec', lan.netns('spoke'), 'scripts/join-spoke.sh', envFile],
      timeoutMs: 300_000,
    });
    await until('spoke-9 online', async () => (await admin.host.list.query()).find((h) => h.id === 'spoke-9' && h.online), 60_000, 500);

    // The spoke serves the certificate the hub signed for its address.
    const { stdout: subject } = await execa('openssl', ['x509', '-noout', '-ext', 'subjectAltName', '-in', path.join(spokeDir, 'data/tls/spoke.pem')]);
    assert.match(subject, new RegExp(`IP Address:${lan.address('spoke').replace(/\./g, '\\.')}`));
    await execa('openssl', ['verify', '-CAfile', path.join(hubDir, 'tls/ca.pem'), path.join(spokeDir, 'data/tls/spoke.pem')]);
  });
});
