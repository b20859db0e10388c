// Rotation bookkeeping of a host's own token (SPOKE_HOST_TOKEN): which tokens the hub accepts after one
// rotation, after two in a row, with no window, and after the window.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { hostTokenRotation, hostTokenState, matchHostToken, type HostTokenColumns } from '~/hub/host-tokens';
import { hashToken, newToken } from '~/lib/tokens';

const DAY = 86_400_000;

describe('host token rotation', () => {
  const original = newToken();
  const host: HostTokenColumns = { id: 'h1', tokenHash: hashToken(original), previousTokenHash: null, previousTokenUntil: null };
  const rotate = (h: HostTokenColumns, windowMs: number) => {
    const r = hostTokenRotation(h, windowMs);
    return { token: r.token, previous: r.previous, host: { ...h, ...r.data } };
  };

  test('after a rotation both tokens work until the window ends; then only the new one', () => {
    const once = rotate(host, DAY);
    assert.equal(matchHostToken(once.token, once.host), 'current');
    assert.equal(matchHostToken(original, once.host), 'previous');
    assert.equal(matchHostToken(newToken(), once.host), undefined);
    assert.equal(hostTokenState(once.host), 'rotating');
    const expired = { ...once.host, previousTokenUntil: new Date(Date.now() - 1) };
    assert.equal(matchHostToken(original, expired), undefined);
    assert.equal(hostTokenState(expired), 'own');
  });

  test('a second rotation before the spoke used the first keeps the token the spoke still holds, and its deadline', () => {
    const once = rotate(host, DAY);
    const twice = rotate(once.host, DAY);
    assert.equal(matchHostToken(original, twice.host), 'previous');
    assert.equal(matchHostToken(once.token, twice.host), undefined);
    assert.deepEqual(twice.previous, once.previous);
  });

  test('window 0: the previous token stops working at once', () => {
    const cut = rotate(rotate(host, DAY).host, 0);
    assert.equal(cut.previous, null);
    assert.equal(matchHostToken(original, cut.host), undefined);
    assert.equal(matchHostToken(cut.token, cut.host), 'current');
  });
});
