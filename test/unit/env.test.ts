import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { EnvError, parseEnv } from '~/env';
import { libvirtConfig } from '~/spoke/hypervisor/libvirt/driver';

const TOKEN = 'a'.repeat(43);
const spokeOnly = { HUB_MODE: 'false', SPOKE_MODE: 'true', HUB_URL: 'https://hub.example:3000', HUB_TOKEN: TOKEN, SPOKE_HOST_ID: 'spoke-1', SPOKE_HOST_TOKEN: TOKEN };

function errorOf(source: Record<string, string>): string {
  try {
    parseEnv(source as NodeJS.ProcessEnv);
  } catch (err) {
    assert.ok(err instanceof EnvError);
    return err.message;
  }
  return assert.fail('expected the configuration to be refused');
}

describe('configuration', () => {
  test('defaults: hub and spoke on, ports 3000 and 8443, embedded database, auto driver', () => {
    const env = parseEnv({} as NodeJS.ProcessEnv);
    assert.equal(env.HUB_MODE, true);
    assert.equal(env.SPOKE_MODE, true);
    assert.equal(env.PORT, 3000);
    assert.equal(env.SPOKE_PORT, 8443);
    assert.equal(env.DATABASE_URL, undefined);
    assert.equal(env.SPOKE_DRIVER, 'auto');
    assert.equal(env.ONLINE_WINDOW_MS, env.HEARTBEAT_PERIOD_MS * 3);
  });

  test('a spoke on its own needs the hub URL, the hub token, its id and its token, each named', () => {
    const message = errorOf({ HUB_MODE: 'false', SPOKE_MODE: 'true' });
    for (const name of ['HUB_URL', 'HUB_TOKEN', 'SPOKE_HOST_ID', 'SPOKE_HOST_TOKEN']) {
      assert.match(message, new RegExp(`${name}: is required when SPOKE_MODE is on and HUB_MODE is off`));
    }
    assert.equal(parseEnv(spokeOnly as unknown as NodeJS.ProcessEnv).SPOKE_HOST_ID, 'spoke-1');
  });

  test('malformed values are named', () => {
    assert.match(errorOf({ PORT: 'eighty' }), /PORT:/);
    assert.match(errorOf({ SPOKE_PORT: '70000' }), /SPOKE_PORT:/);
    assert.match(errorOf({ HUB_MODE: 'maybe' }), /HUB_MODE: must be true or false/);
    assert.match(errorOf({ DATABASE_URL: 'mysql://x/y' }), /DATABASE_URL: must be a postgresql:\/\/ URL/);
    assert.match(errorOf({ SPOKE_DRIVER: 'xen' }), /SPOKE_DRIVER:/);
    assert.match(errorOf({ ...spokeOnly, HUB_TOKEN: 'short' }), /HUB_TOKEN: must be at least 32 characters/);
    assert.match(errorOf({ ...spokeOnly, SPOKE_HOST_ID: 'Spoke One;' }), /SPOKE_HOST_ID:/);
    assert.match(errorOf({ TLS_CERT_FILE: '/x.pem' }), /TLS_KEY_FILE: is required with the other TLS file/);
    assert.match(errorOf({ HUB_MODE: 'false', SPOKE_MODE: 'false' }), /nothing to run/);
    assert.match(errorOf({ LIBVIRT_NETWORK: 'default; rm' }), /LIBVIRT_NETWORK:/);
    assert.match(errorOf({ LIBVIRT_BRIDGE: 'br0 up' }), /LIBVIRT_BRIDGE: must be a network interface name/);
    assert.match(errorOf({ LIBVIRT_BRIDGE: 'a-very-long-bridge-name' }), /LIBVIRT_BRIDGE:/);
    assert.match(errorOf({ LIBVIRT_BRIDGE: 'br0', LIBVIRT_NETWORK: 'default' }), /LIBVIRT_BRIDGE: and LIBVIRT_NETWORK are both set/);
  });

  test('capsuls attach to the default network unless a network or a bridge is named', () => {
    const nicOf = (vars: Record<string, string>) => libvirtConfig(parseEnv(vars as unknown as NodeJS.ProcessEnv)).nic;
    assert.deepEqual(nicOf({}), { network: 'default' });
    assert.deepEqual(nicOf({ LIBVIRT_NETWORK: 'public' }), { network: 'public' });
    assert.deepEqual(nicOf({ LIBVIRT_BRIDGE: 'br0' }), { bridge: 'br0' });
  });

  test('http:// URLs need the development flag', () => {
    assert.match(errorOf({ ...spokeOnly, HUB_URL: 'http://hub:3000' }), /HUB_URL: must be https:\/\//);
    const env = parseEnv({ ...spokeOnly, HUB_URL: 'http://hub:3000', ALLOW_INSECURE_HTTP: 'true' } as unknown as NodeJS.ProcessEnv);
    assert.equal(env.HUB_URL, 'http://hub:3000');
  });

  test('a hub alone refuses HUB_TOKEN (a spoke\'s own token since v1.1) and says what to do', () => {
    assert.match(errorOf({ HUB_MODE: 'true', SPOKE_MODE: 'false', HUB_TOKEN: TOKEN }), /HUB_TOKEN: is a spoke's own token since v1.1.*rename it HUB_SHARED_TOKEN/);
    assert.equal(parseEnv({ HUB_MODE: 'true', SPOKE_MODE: 'false', HUB_SECRET: TOKEN, HUB_SHARED_TOKEN: TOKEN } as unknown as NodeJS.ProcessEnv).HUB_SHARED_TOKEN, TOKEN);
  });

  test('an empty variable counts as unset', () => {
    assert.equal(parseEnv({ DATABASE_URL: '', PORT: '' } as unknown as NodeJS.ProcessEnv).PORT, 3000);
  });
});
