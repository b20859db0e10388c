// The ledger on PGlite and on PostgreSQL: an entry is made once per idempotency key (a repeat returns the
// first, also when many arrive at once); the balance is the sum of the entries; the database refuses to
// change or remove an entry; a payment that is not positive, not in BILLING_CURRENCY or for no account is
// refused with nothing written.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { adjustBalance, appendEntry, balance, creditPayment, LedgerRefusal } from '~/hub/billing/ledger';
import { billingOn } from '../support/billing';
import { openTestDatabase, type TestDb } from '../support/hub-db';

billingOn();

for (const kind of ['pglite', 'postgresql'] as const) {
  describe(`the ledger on ${kind}`, () => {
    let database: TestDb;
    let alice: string;
    let bob: string;
    const count = () => database.db.ledgerEntry.count();

    before(async () => {
      database = await openTestDatabase(kind);
      alice = (await database.db.account.create({ data: { email: 'alice@example.com' } })).id;
      bob = (await database.db.account.create({ data: { email: 'bob@example.com' } })).id;
    });
    after(async () => database?.drop());

    const payment = (over: Partial<Parameters<typeof creditPayment>[1]> = {}) => ({
      accountId: alice, amountMinor: 1500, currency: 'EUR', provider: 'stripe' as const, providerRef: 'cs_test_1', idempotencyKey: 'stripe:evt_1', actor: 'stripe', ...over,
    });

    test('a payment is credited once; the same key again returns the first entry', async () => {
      const first = await creditPayment(database.db, payment());
      assert.equal(first.created, true);
      assert.equal(first.entry.kind, 'payment');
      assert.equal(first.entry.amountMinor, 1500);
      assert.equal(first.entry.provider, 'stripe');
      assert.equal(first.entry.providerRef, 'cs_test_1');
      const again = await creditPayment(database.db, payment());
      assert.equal(again.created, false);
      assert.equal(again.entry.id, first.entry.id);
      assert.equal(await balance(database.db, alice), 1500);
      assert.equal(await balance(database.db, bob), 0);
    });

    test('many appends with one key at once make one entry', async () => {
      const results = await Promise.all(Array.from({ length: 12 }, () => creditPayment(database.db, payment({ idempotencyKey: 'btcpay:inv_race', provider: 'btcpay', providerRef: 'inv_race', amountMinor: 700 }))));
      assert.equal(results.filter((r) => r.created).length, 1);
      assert.equal(new Set(results.map((r) => r.entry.id)).size, 1);
      assert.equal(await balance(database.db, alice), 2200);
    });

    test('refused, nothing written: zero, negative, fractional, another currency, an unknown account', async () => {
      const before = await count();
      for (const [over, field] of [
        [{ amountMinor: 0 }, 'amountMinor'],
        [{ amountMinor: -100 }, 'amountMinor'],
        [{ amountMinor: 10.5 }, 'amountMinor'],
        [{ currency: 'USD' }, 'currency'],
        [{ accountId: '00000000-0000-0000-0000-000000000000' }, 'accountId'],
      ] as const) {
        await assert.rejects(creditPayment(database.db, payment({ ...over, idempotencyKey: `refused:${field}:${JSON.stringify(over)}` })), (err: unknown) => {
          assert.ok(err instanceof LedgerRefusal, String(err));
          assert.equal(err.field, field);
          return true;
        });
      }
      assert.equal(await count(), before);
      assert.equal(await balance(database.db, alice), 2200);
    });

    test('each kind keeps its sign; a debit with a note lowers the balance', async () => {
      await assert.rejects(appendEntry(database.db, { accountId: alice, kind: 'usage', amountMinor: 5, currency: 'EUR', idempotencyKey: 'bad-usage', actor: 'system' }), LedgerRefusal);
      await assert.rejects(appendEntry(database.db, { accountId: alice, kind: 'refund', amountMinor: 5, currency: 'EUR', idempotencyKey: 'bad-refund', actor: 'cli' }), LedgerRefusal);
      await assert.rejects(adjustBalance(database.db, { accountId: alice, amountMinor: -300, note: '  ', actor: 'cli', idempotencyKey: 'no-note' }), /note/);
      const debit = await adjustBalance(database.db, { accountId: alice, amountMinor: -300, note: 'bank fee', actor: 'cli', idempotencyKey: 'debit-1' });
      assert.equal(debit.entry.kind, 'debit');
      assert.equal(debit.entry.note, 'bank fee');
      const credit = await adjustBalance(database.db, { accountId: bob, amountMinor: 50, note: 'cash at the meeting', actor: 'account:admin@example.com', idempotencyKey: 'credit-1' });
      assert.equal(credit.entry.kind, 'credit');
      assert.equal(await balance(database.db, alice), 1900);
      assert.equal(await balance(database.db, bob), 50);
    });

    test('the database refuses to change or remove an entry', async () => {
      const entry = await database.db.ledgerEntry.findFirstOrThrow({ where: { accountId: alice } });
      await assert.rejects(database.db.$executeRaw`UPDATE "LedgerEntry" SET "amountMinor" = 1000000 WHERE id = ${entry.id}`, /append-only/);
      await assert.rejects(database.db.$executeRaw`DELETE FROM "LedgerEntry" WHERE id = ${entry.id}`, /append-only/);
      assert.equal(await balance(database.db, alice), 1900);
    });
  });
}
