// Billing's settings and amounts: off without BILLING_CURRENCY; the periods in days/hours or, for tests, in
// ms; a delete grace shorter than the stop grace refused; amounts typed and shown in the currency's digits.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { EnvError, parseEnv } from '~/env';
import { billingConfig } from '~/hub/billing/config';
import { formatMinor, parseAmount } from '~/hub/billing/money';

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

  test("amounts in the currency's own digits", () => {
    assert.equal(formatMinor(1234, 'EUR'), 'EUR 12.34');
    assert.equal(formatMinor(1234, 'JPY'), 'JPY 1,234');
    assert.equal(parseAmount('12.5', 'EUR'), 1250);
    assert.equal(parseAmount('12', 'EUR'), 1200);
    assert.equal(parseAmount('0.07', 'EUR'), 7);
    assert.equal(parseAmount('1234', 'JPY'), 1234);
    for (const bad of ['12.345', '1.5', '', 'ten', '1e3', '12,50']) {
      assert.equal(parseAmount(bad, bad === '1.5' ? 'JPY' : 'EUR'), null, bad);
    }
  });
});
