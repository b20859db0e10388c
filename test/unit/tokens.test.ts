import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fillQuickStartDefaults } from '~/bootstrap';
import { HOST_ID_PATTERN } from '~/contract/ids';
import { bearerToken, deriveHubToken, hashToken, INITIAL_HUB_TOKEN_SALT, newSalt, newToken, tokenMatches, tokenMatchesHash } from '~/lib/tokens';

describe('tokens', () => {
  test('new tokens carry 32 random bytes and never repeat', () => {
    const tokens = new Set(Array.from({ length: 1000 }, newToken));
    assert.equal(tokens.size, 1000);
    for (const t of tokens) assert.equal(Buffer.from(t, 'base64url').length, 32);
  });

  test('comparison: equal only when equal, whatever the lengths', () => {
    const t = newToken();
    assert.ok(tokenMatches(t, t));
    assert.ok(!tokenMatches(`${t}x`, t));
    assert.ok(!tokenMatches('', t));
    assert.ok(tokenMatchesHash(t, hashToken(t)));
    assert.ok(!tokenMatchesHash(newToken(), hashToken(t)));
    assert.ok(!tokenMatchesHash(t, 'not-hex'));
  });

  test('hub tokens: one per host and salt, from the hub secret; 43 characters, as a spoke\'s HUB_TOKEN', () => {
    const secret = newToken();
    const salt = newSalt();
    const a = deriveHubToken(secret, 'spoke-a', salt);
    assert.equal(a, deriveHubToken(secret, 'spoke-a', salt));
    assert.match(a, /^[A-Za-z0-9_-]{43}$/);
    const others = [deriveHubToken(secret, 'spoke-b', salt), deriveHubToken(secret, 'spoke-a', newSalt()), deriveHubToken(newToken(), 'spoke-a', salt)];
    for (const other of others) assert.notEqual(other, a);
    // Host ids have no colon (HOST_ID_PATTERN), so "id:salt" reads back one way only.
    assert.ok(!HOST_ID_PATTERN.test('a:b'));
  });

  test('quick start: a hub secret kept in secrets.json, the local spoke\'s HUB_TOKEN derived from it, a pre-v1.1 token handed over', async () => {
    const dataDir = await mkdtemp(path.join(os.tmpdir(), 'capsul-bootstrap-'));
    const legacy = newToken();
    await writeFile(path.join(dataDir, 'secrets.json'), JSON.stringify({ hubToken: legacy }));
    const target = { DATA_DIR: dataDir } as unknown as NodeJS.ProcessEnv;
    fillQuickStartDefaults(target);
    const secrets = JSON.parse(await readFile(path.join(dataDir, 'secrets.json'), 'utf8')) as Record<string, string>;
    assert.equal(target.HUB_SECRET, secrets.hubSecret);
    assert.equal(target.HUB_TOKEN, deriveHubToken(secrets.hubSecret!, 'local', INITIAL_HUB_TOKEN_SALT));
    assert.equal(target.HUB_SHARED_TOKEN, legacy);
    const hubAlone = { DATA_DIR: dataDir, SPOKE_MODE: 'false' } as unknown as NodeJS.ProcessEnv;
    fillQuickStartDefaults(hubAlone);
    assert.equal(hubAlone.HUB_SECRET, secrets.hubSecret, 'the same secret at every start');
    assert.equal(hubAlone.HUB_TOKEN, undefined, 'a hub alone has no HUB_TOKEN');
  });

  test('bearer header parsing', () => {
    assert.equal(bearerToken('Bearer abc.DEF-_~+/='), 'abc.DEF-_~+/=');
    assert.equal(bearerToken('bearer abc'), undefined);
    assert.equal(bearerToken('Basic abc'), undefined);
    assert.equal(bearerToken('Bearer a b'), undefined);
    assert.equal(bearerToken(null), undefined);
    assert.equal(bearerToken(`Bearer ${'a'.repeat(600)}`), undefined);
  });
});
