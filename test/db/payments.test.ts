// Top-up records on PGlite and on PostgreSQL (src/hub/billing/payments.ts): a top-up settled any number of
// times, also at once, is one ledger entry and one paid row; a paid top-up stays paid whatever is reported
// after; a rail's reference is unique per rail, and a top-up without one yet is no clash.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { balance } from '~/hub/billing/ledger';
import { attachProviderRef, markPayment, paymentByRef, paymentsOf, settlePayment, startPayment } from '~/hub/billing/payments';
import { billingOn } from '../support/billing';
import { openTestDatabase, type TestDb } from '../support/hub-db';

billingOn();

for (const kind of ['pglite', 'postgresql'] as const) {
  describe(`top-up records on ${kind}`, () => {
    let database: TestDb;
    let alice: string;
    const start = (amountMinor = 1000, provider: 'stripe' | 'btcpay' = 'stripe') =>
      startPayment(database.db, { accountId: alice, provider, amountMinor, currency: 'EUR', actor: 'account:alice@example.com' });

    before(async () => {
      database = await openTestDatabase(kind);
      alice = (await database.db.account.create({ data: { email: 'alice@example.com' } })).id;
    });
    after(async () => database?.drop());

    test('a top-up starts pending, without a reference, and is found by its reference once attached', async () => {
      const p = await start();
      assert.deepEqual([p.status, p.providerRef, p.paidAt, p.detail], ['pending', null, null, null]);
      assert.equal(await paymentByRef(database.db, 'stripe', 'cs_test_a'), null);
      await attachProviderRef(database.db, p.id, 'cs_test_a');
      assert.equal((await paymentByRef(database.db, 'stripe', 'cs_test_a'))?.id, p.id);
      assert.equal(await paymentByRef(database.db, 'btcpay', 'cs_test_a'), null, 'references are per rail');
    });

    test('settled twice, and ten times at once: one entry, one paid row', async () => {
      const p = await start(2500);
      await attachProviderRef(database.db, p.id, 'cs_test_b');
      const before = await balance(database.db, alice);
      const paid = { amountMinor: 2500, currency: 'EUR', idempotencyKey: 'stripe:cs_test_b', note: 'Stripe Checkout cs_test_b' };
      const first = await settlePayment(database.db, { ...p, providerRef: 'cs_test_b' }, paid);
      assert.equal(first.created, true);
      const racing = await Promise.all(Array.from({ length: 10 }, () => settlePayment(database.db, { ...p, providerRef: 'cs_test_b' }, paid)));
      assert.ok(racing.every((r) => !r.created && r.entryId === first.entryId));
      assert.equal(await balance(database.db, alice), before + 2500);
      const row = (await paymentByRef(database.db, 'stripe', 'cs_test_b'))!;
      assert.equal(row.status, 'paid');
      assert.ok(row.paidAt);
      const entry = await database.db.ledgerEntry.findUniqueOrThrow({ where: { id: first.entryId } });
      assert.deepEqual([entry.kind, entry.provider, entry.providerRef, entry.actor, entry.amountMinor], ['payment', 'stripe', 'cs_test_b', 'stripe', 2500]);
      assert.equal(row.paidAt!.getTime(), entry.createdAt.getTime());

      // Whatever is reported after, it stays paid.
      for (const status of ['expired', 'partial', 'invalid', 'pending'] as const) assert.equal(await markPayment(database.db, p.id, status, 'late news'), false);
      assert.equal((await paymentByRef(database.db, 'stripe', 'cs_test_b'))!.status, 'paid');
    });

    test('other statuses follow what the rail reports, and an expired top-up paid late is credited then', async () => {
      const p = await start(300, 'btcpay');
      await attachProviderRef(database.db, p.id, 'inv_c');
      assert.equal(await markPayment(database.db, p.id, 'partial', 'paid in part so far'), true);
      assert.equal(await markPayment(database.db, p.id, 'expired', 'the invoice expired unpaid'), true);
      const row = (await paymentByRef(database.db, 'btcpay', 'inv_c'))!;
      assert.deepEqual([row.status, row.detail], ['expired', 'the invoice expired unpaid']);
      await settlePayment(database.db, row, { amountMinor: 300, currency: 'EUR', idempotencyKey: 'btcpay:inv_c', note: 'BTCPay invoice inv_c' });
      const now = (await paymentByRef(database.db, 'btcpay', 'inv_c'))!;
      assert.deepEqual([now.status, now.detail], ['paid', null]);
    });

    test('a reference is unique per rail; top-ups without one yet do not clash', async () => {
      const [a, b, c] = [await start(), await start(), await start()];
      await attachProviderRef(database.db, a.id, 'cs_test_same');
      await assert.rejects(attachProviderRef(database.db, b.id, 'cs_test_same'));
      assert.equal((await database.db.payment.findUniqueOrThrow({ where: { id: c.id } })).providerRef, null);
      const mine = await paymentsOf(database.db, alice);
      assert.ok(mine.length >= 3);
      assert.ok(mine.every((p, i) => i === 0 || p.createdAt <= mine[i - 1]!.createdAt), 'newest first');
    });
  });
}
