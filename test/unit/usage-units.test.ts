// How the usage graphs write their numbers: binary units, one unit per axis, a gap as a dash.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { formatTicks, formatUsage } from '~/components/usage-units';

test('a value is written in the unit that suits it', () => {
  assert.equal(formatUsage(null, 'bytes'), '—');
  assert.equal(formatUsage(0, 'bytesPerSecond'), '0 B/s');
  assert.equal(formatUsage(512, 'bytesPerSecond'), '512 B/s');
  assert.equal(formatUsage(1536, 'bytesPerSecond'), '1.50 KiB/s');
  assert.equal(formatUsage(3 * 2 ** 20, 'bytesPerSecond'), '3.00 MiB/s');
  assert.equal(formatUsage(512 * 2 ** 20, 'bytes'), '512 MiB');
  assert.equal(formatUsage(2 ** 30, 'bytes'), '1.00 GiB');
  assert.equal(formatUsage(4.25, 'percent'), '4.3 %');
  assert.equal(formatUsage(42, 'percent'), '42 %');
});

test("an axis's ticks share the unit of the largest", () => {
  assert.deepEqual(formatTicks([0, 256 * 2 ** 20, 512 * 2 ** 20, 768 * 2 ** 20, 2 ** 30], 'bytes'), ['0 GiB', '0.25 GiB', '0.5 GiB', '0.75 GiB', '1 GiB']);
  assert.deepEqual(formatTicks([0, 500, 1000], 'bytesPerSecond'), ['0 B/s', '500 B/s', '1000 B/s']);
  assert.deepEqual(formatTicks([0, 2048, 4096], 'bytesPerSecond'), ['0 KiB/s', '2 KiB/s', '4 KiB/s']);
  assert.deepEqual(formatTicks([0, 50, 100], 'percent'), ['0 %', '50 %', '100 %']);
});
