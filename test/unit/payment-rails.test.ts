// The payment rails' pure parts: which rails a configuration turns on (and what it refuses), the SDK's host,
// port and protocol from STRIPE_API_BASE, exact amounts between minor units and BTCPay's decimals, and the
// BTCPay-Sig check against a known answer.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { EnvError, parseEnv } from '~/env';
import { fromDecimal, minorDigits, toDecimal } from '~/hub/billing/money';
import { btcpaySignatureMatches } from '~/hub/billing/providers/btcpay';
import { btcpayRail, railsOn, stripeRail } from '~/hub/billing/rails';

const stripe = { STRIPE_SECRET_KEY: 'sk_test_0123456789abcdef', STRIPE_WEBHOOK_SECRET: 'whsec_0123456789abcdef' };
const btcpay = { BTCPAY_URL: 'https://btcpay.example.org/', BTCPAY_API_KEY: 'f'.repeat(40), BTCPAY_STORE_ID: 'AbCdEfGh12345678', BTCPAY_WEBHOOK_SECRET: 'a-long-webhook-secret' };
const parse = (source: Record<string, string>) => parseEnv(source as NodeJS.ProcessEnv);

function errorOf(source: Record<string, string>): string {
  try {
    parse(source);
  } catch (err) {
    assert.ok(err instanceof EnvError);
    return err.message;
  }
  return assert.fail('expected the configuration to be refused');
}

describe('payment rails: configuration', () => {
  test('no rail variables: no rails, whether or not billing is on', () => {
    assert.deepEqual(railsOn(parse({})), []);
    assert.deepEqual(railsOn(parse({ BILLING_CURRENCY: 'EUR' })), []);
  });

  test('each rail is on once all of its variables are set', () => {
    const e = parse({ BILLING_CURRENCY: 'EUR', ...stripe, ...btcpay });
    assert.deepEqual(railsOn(e), ['stripe', 'btcpay']);
    assert.deepEqual(stripeRail(e), { secretKey: stripe.STRIPE_SECRET_KEY, webhookSecret: stripe.STRIPE_WEBHOOK_SECRET, host: 'api.stripe.com', port: 443, protocol: 'https', maxNetworkRetries: 2 });
    assert.deepEqual(btcpayRail(e), { baseUrl: 'https://btcpay.example.org', apiKey: 'f'.repeat(40), storeId: 'AbCdEfGh12345678', webhookSecret: 'a-long-webhook-secret' });
    assert.deepEqual(railsOn(parse({ BILLING_CURRENCY: 'EUR', ...btcpay })), ['btcpay']);
  });

  test('STRIPE_API_BASE becomes the SDK host, port and protocol', () => {
    const at = (base: string, extra: Record<string, string> = {}) => {
      const r = stripeRail(parse({ BILLING_CURRENCY: 'EUR', ...stripe, STRIPE_API_BASE: base, ...extra }))!;
      return [r.host, r.port, r.protocol];
    };
    assert.deepEqual(at('https://127.0.0.1:12111/'), ['127.0.0.1', 12111, 'https']);
    assert.deepEqual(at('https://[::1]:8443'), ['::1', 8443, 'https']);
    assert.deepEqual(at('http://localhost:12111', { ALLOW_INSECURE_HTTP: 'true' }), ['localhost', 12111, 'http']);
    assert.match(errorOf({ BILLING_CURRENCY: 'EUR', ...stripe, STRIPE_API_BASE: 'http://localhost:12111' }), /STRIPE_API_BASE: must be https:\/\//);
  });

  test('a rail half set is refused, naming what is missing; a rail needs BILLING_CURRENCY', () => {
    const half = errorOf({ BILLING_CURRENCY: 'EUR', STRIPE_SECRET_KEY: stripe.STRIPE_SECRET_KEY });
    assert.match(half, /STRIPE_WEBHOOK_SECRET: is required for Stripe payments \(STRIPE_SECRET_KEY is set\)/);
    const some = errorOf({ BILLING_CURRENCY: 'EUR', BTCPAY_URL: btcpay.BTCPAY_URL, BTCPAY_API_KEY: btcpay.BTCPAY_API_KEY });
    assert.match(some, /BTCPAY_STORE_ID: is required for BTCPay payments \(BTCPAY_URL, BTCPAY_API_KEY are set\)/);
    assert.match(some, /BTCPAY_WEBHOOK_SECRET: is required/);
    assert.match(errorOf({ ...stripe }), /BILLING_CURRENCY: is required for Stripe payments/);
  });

  test('malformed keys and bounds are named', () => {
    assert.match(errorOf({ BILLING_CURRENCY: 'EUR', ...stripe, STRIPE_SECRET_KEY: 'pk_test_0123456789' }), /STRIPE_SECRET_KEY: must be a Stripe secret key/);
    assert.match(errorOf({ BILLING_CURRENCY: 'EUR', ...stripe, STRIPE_WEBHOOK_SECRET: 'secret' }), /STRIPE_WEBHOOK_SECRET:/);
    assert.match(errorOf({ TOP_UP_MIN_MINOR: '500', TOP_UP_MAX_MINOR: '100' }), /TOP_UP_MIN_MINOR: is larger than TOP_UP_MAX_MINOR/);
    assert.match(errorOf({ TOP_UP_MIN_MINOR: '0' }), /TOP_UP_MIN_MINOR:/);
  });
});

describe('payment rails: amounts', () => {
  test('minor units per currency come from ISO 4217', () => {
    assert.deepEqual(['EUR', 'USD', 'JPY', 'BHD'].map(minorDigits), [2, 2, 0, 3]);
  });

  test('minor units to decimals and back, exactly', () => {
    assert.deepEqual([1234, 5, 0, 100_000, -250].map((m) => toDecimal(m, 'EUR')), ['12.34', '0.05', '0.00', '1000.00', '-2.50']);
    assert.equal(toDecimal(500, 'JPY'), '500');
    assert.equal(toDecimal(1234, 'BHD'), '1.234');
    for (let m = 0; m < 2000; m += 7) assert.equal(fromDecimal(toDecimal(m, 'EUR'), 'EUR'), m);
  });

  test('decimals that are not a whole number of minor units, or not decimals, are refused rather than rounded', () => {
    assert.equal(fromDecimal('12.340000', 'EUR'), 1234);
    assert.equal(fromDecimal('12', 'EUR'), 1200);
    assert.equal(fromDecimal('12.345', 'EUR'), null);
    assert.equal(fromDecimal('0.1', 'JPY'), null);
    for (const bad of ['', '1e3', '12,34', '0x10', ' 12.3.4', 'NaN', 'Infinity', '12.']) assert.equal(fromDecimal(bad, 'EUR'), null, bad);
    assert.equal(fromDecimal('-5.00', 'EUR'), -500);
  });
});

describe('payment rails: the BTCPay-Sig check', () => {
  test('the known answer (HMAC-SHA256, as openssl dgst -hmac computes it) matches; anything else does not', () => {
    const body = Buffer.from('{"a":1}');
    const sig = 'sha256=aa9e2e3575f5d7098b6caccd790888c36d5fdb63342a73bada2d6a51747a8494';
    assert.equal(btcpaySignatureMatches(body, sig, 'secret'), true);
    assert.equal(btcpaySignatureMatches(body, sig, 'Secret'), false);
    assert.equal(btcpaySignatureMatches(Buffer.from('{"a": 1}'), sig, 'secret'), false, 'the raw bytes, not the JSON they parse to');
    assert.equal(btcpaySignatureMatches(body, sig.toUpperCase(), 'secret'), false);
    assert.equal(btcpaySignatureMatches(body, sig.slice(0, -2), 'secret'), false, 'a shorter header (timingSafeEqual would throw)');
    assert.equal(btcpaySignatureMatches(body, undefined, 'secret'), false);
    assert.equal(btcpaySignatureMatches(body, '', 'secret'), false);
  });
});
