import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { bearerToken, hashToken, newToken, tokenMatches, tokenMatchesHash } from '~/lib/tokens';

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

  test('bearer header parsing', () => {
    assert.equal(bearerToken('Bearer abc.DEF-_~+/='), 'abc.DEF-_~+/=');
    assert.equal(bearerToken('bearer abc'), undefined);
    assert.equal(bearerToken('Basic abc'), undefined);
    assert.equal(bearerToken('Bearer a b'), undefined);
    assert.equal(bearerToken(null), undefined);
    assert.equal(bearerToken(`Bearer ${'a'.repeat(600)}`), undefined);
  });
});
