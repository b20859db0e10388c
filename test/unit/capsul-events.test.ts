// The capsul change feed inside a hub: a subscriber sees only changes it may see (skipped before anything is
// read), one entry per capsul however often it changed while waiting, and a queue that stays bounded.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { capsulChanged, capsulChanges, MAX_WAITING_CHANGES } from '~/hub/events';

const ALICE = '00000000-0000-4000-8000-00000000000a';
const BOB = '00000000-0000-4000-8000-00000000000b';
const id = (n: number) => `capsul-${String(n).padStart(10, '0')}`;

describe('capsul change events', () => {
  test("a subscriber's filter runs before its queue: another account's changes never wait in it", async () => {
    const seen: string[] = [];
    const abort = new AbortController();
    const stream = capsulChanges((c) => c.ownerId === ALICE, abort.signal);
    const reading = (async () => {
      for await (const c of stream) {
        seen.push(`${c.ownerId === ALICE ? 'alice' : 'bob'}:${c.id}`);
        if (seen.length === 2) abort.abort();
      }
    })();
    await new Promise((r) => setImmediate(r));
    capsulChanged({ id: id(1), ownerId: BOB });
    capsulChanged({ id: id(2), ownerId: ALICE });
    capsulChanged({ id: id(3), ownerId: BOB });
    capsulChanged({ id: id(4), ownerId: ALICE });
    await reading;
    assert.deepEqual(seen, [`alice:${id(2)}`, `alice:${id(4)}`]);
  });

  test('a capsul that changes several times before it is read is read once; no id, no owner, no event', async () => {
    const abort = new AbortController();
    const stream = capsulChanges(() => true, abort.signal);
    const first = stream.next(); // subscribes, and waits
    await new Promise((r) => setImmediate(r));
    capsulChanged({ id: id(5), ownerId: ALICE });
    capsulChanged({ id: null, ownerId: ALICE });
    capsulChanged({ id: id(9), ownerId: undefined });
    assert.equal((await first).value?.id, id(5));
    for (let i = 0; i < 5; i++) capsulChanged({ id: id(6), ownerId: ALICE });
    capsulChanged({ id: id(7), ownerId: ALICE });
    const got = [(await stream.next()).value?.id, (await stream.next()).value?.id];
    assert.deepEqual(got, [id(6), id(7)], 'id(6) once, then id(7)');
    abort.abort();
    assert.equal((await stream.next()).done, true, 'ends when the subscriber leaves');
  });

  test('a subscriber that falls behind by more than the bound is told to subscribe again, instead of queueing without end', async () => {
    const stream = capsulChanges(() => true, new AbortController().signal);
    const first = stream.next();
    await new Promise((r) => setImmediate(r));
    capsulChanged({ id: id(0), ownerId: ALICE });
    await first;
    for (let i = 1; i <= MAX_WAITING_CHANGES + 1; i++) capsulChanged({ id: id(i), ownerId: ALICE });
    await assert.rejects(stream.next(), { code: 'TOO_MANY_REQUESTS' });
  });
});
