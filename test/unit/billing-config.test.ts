// Billing's settings and amounts: off without BILLING_CURRENCY; the periods in days/hours or, for tests, in
// ms; a delete grace shorter than the stop grace refused; the open books off unless asked for, and only with
// billing; amounts typed and shown in the currency's digits.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { EnvError, parseEnv } from '~/env';
import { billingConfig } from '~/hub/billing/config';
import { formatMinor, fromDecimal } from '~/hub/billing/money';
import { lastMonths, publicBooksOn } from '~/hub/billing/open-books';

const parse = (source: Record<string, string>) => parseEnv(source as NodeJS.ProcessEnv);

describe('billing settings', () => {
  test('off without BILLING_CURRENCY', () => {
    assert.equal(billingConfig(parse({})), null);
  });

  test('the defaults, and ms overriding days and hours', () => {
    assert.deepEqual(billingConfig(parse({ BILLING_CURRENCY: 'EUR' })), {
      currency: 'EUR', meterPeriodMs: 600_000, minBalanceHours: 24, warnMs: 7 * 86_400_000, stopGraceMs: 72 * 3_600_000, deleteGraceMs: 336 * 3_600_000,
    });
    const short = billingConfig(parse({ BILLING_CURRENCY: 'CHF', BILLING_WARN_MS: '5000', BILLING_STOP_GRACE_MS: '2000', BILLING_DELETE_GRACE_MS: '4000' }));
    assert.deepEqual([short?.warnMs, short?.stopGraceMs, short?.deleteGraceMs], [5000, 2000, 4000]);
  });

  test('a malformed currency and a delete before the stop are refused, named', () => {
    assert.throws(() => parse({ BILLING_CURRENCY: 'eur' }), (e: unknown) => e instanceof EnvError && /BILLING_CURRENCY: must be a three-letter currency code/.test(e.message));
    assert.throws(
      () => parse({ BILLING_CURRENCY: 'EUR', BILLING_STOP_GRACE_HOURS: '48', BILLING_DELETE_GRACE_HOURS: '24' }),
      (e: unknown) => e instanceof EnvError && /BILLING_DELETE_GRACE_HOURS: is shorter than the stop grace/.test(e.message),
    );
  });

  test('the open books: off by default, on only with billing, refused without a currency', () => {
    assert.equal(publicBooksOn(parse({})), false);
    assert.equal(publicBooksOn(parse({ BILLING_CURRENCY: 'EUR' })), false);
    assert.equal(publicBooksOn(parse({ BILLING_CURRENCY: 'EUR', BILLING_PUBLIC_BOOKS: 'true' })), true);
    assert.throws(() => parse({ BILLING_PUBLIC_BOOKS: 'true' }), (e: unknown) => e instanceof EnvError && /BILLING_CURRENCY: is required for BILLING_PUBLIC_BOOKS/.test(e.message));
    assert.throws(() => parse({ BILLING_CURRENCY: 'EUR', BILLING_PUBLIC_BOOKS: 'maybe' }), (e: unknown) => e instanceof EnvError && /BILLING_PUBLIC_BOOKS: must be true or false/.test(e.message));
    // Twelve months back across a new year, in UTC.
    assert.deepEqual(lastMonths(new Date('2026-03-01T00:00:00.000Z'), 4), ['2026-03', '2026-02', '2026-01', '2025-12']);
    assert.equal(lastMonths(new Date('2026-02-28T23:59:59.999Z')).at(-1), '2025-03');
  });

  test("amounts in the currency's own digits", () => {
    assert.equal(formatMinor(1234, 'EUR'), '12.34 EUR');
    assert.equal(formatMinor(1234, 'JPY'), '1234 JPY');
    assert.equal(fromDecimal('12.5', 'EUR'), 1250);
    assert.equal(fromDecimal('12', 'EUR'), 1200);
    assert.equal(fromDecimal('0.07', 'EUR'), 7);
    assert.equal(fromDecimal('1234', 'JPY'), 1234);
    for (const bad of ['12.345', '1.5', '', 'ten', '1e3', '12,50']) {
      assert.equal(fromDecimal(bad, bad === '1.5' ? 'JPY' : 'EUR'), null, bad);
    }
  });
});
