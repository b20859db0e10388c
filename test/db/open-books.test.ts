// The open books on PGlite and on PostgreSQL, at a chosen moment (2026-12-15): the last 12 months, newest
// first; each month's costs are its items and their exact sum, its income the payments less the refunds made
// in it (UTC, to the millisecond at both ends), never credits, usage or another currency; months with nothing
// are zero; and nothing in the answer names an account, an entry or who entered a cost. Cost items are
// refused, with nothing written, for a bad month, label or amount; they are corrected and removed.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { LedgerKind } from '~/generated/prisma/client';
import { LedgerRefusal } from '~/hub/billing/ledger';
import { addFleetCost, deleteFleetCost, fleetCosts, lastMonths, openBooks, updateFleetCost } from '~/hub/billing/open-books';
import { billingOn } from '../support/billing';
import { openTestDatabase, type TestDb } from '../support/hub-db';

billingOn();

const NOW = new Date('2026-12-15T12:00:00.000Z');
const ADMIN = 'account:treasurer@example.com';

for (const kind of ['pglite', 'postgresql'] as const) {
  describe(`the open books on ${kind}`, () => {
    let database: TestDb;
    let alice: string;
    let bob: string;
    let n = 0;
    // Straight into the table, at a chosen moment (the trigger refuses only changes and removals).
    const entry = (accountId: string, kind: LedgerKind, amountMinor: number, at: string, currency = 'EUR') =>
      database.db.ledgerEntry.create({ data: { accountId, kind, amountMinor, currency, idempotencyKey: `books:${n++}`, actor: 'test', note: `secret of ${accountId}`, createdAt: new Date(at) } });

    before(async () => {
      database = await openTestDatabase(kind);
      alice = (await database.db.account.create({ data: { email: 'alice@example.com' } })).id;
      bob = (await database.db.account.create({ data: { email: 'bob@example.com' } })).id;
      await entry(alice, 'payment', 1000, '2026-12-01T00:00:00.000Z'); // the first instant of December
      await entry(alice, 'payment', 250, '2026-12-15T11:59:59.000Z');
      await entry(bob, 'payment', 2500, '2026-11-30T23:59:59.999Z'); // the last instant of November
      await entry(bob, 'refund', -500, '2026-11-10T08:00:00.000Z');
      await entry(alice, 'credit', 9999, '2026-10-05T10:00:00.000Z'); // a credit by hand: not income
      await entry(alice, 'usage', -300, '2026-10-06T10:00:00.000Z');
      await entry(bob, 'debit', -40, '2026-10-07T10:00:00.000Z');
      await entry(bob, 'payment', 4242, '2026-10-08T10:00:00.000Z', 'USD'); // another currency: not in these books
      await entry(bob, 'payment', 8888, '2025-12-31T23:59:59.999Z'); // thirteen months back: not shown
      await entry(alice, 'payment', 111, '2026-01-01T00:00:00.000Z'); // the oldest month shown
      for (const [month, label, amountMinor] of [
        ['2026-12', 'colocation', 30000],
        ['2026-12', 'power', 4550],
        ['2026-11', 'colocation', 30000],
        ['2025-12', 'colocation', 99], // before the window
        ['2027-01', 'colocation', 77], // after it
      ] as const) {
        await addFleetCost(database.db, { month, label, amountMinor, actor: ADMIN });
      }
    });
    after(async () => database?.drop());

    test('twelve months, newest first, each exact: items and their sum, payments less refunds, the difference', async () => {
      const books = await openBooks(database.db, { now: NOW });
      assert.equal(books.currency, 'EUR');
      assert.deepEqual(books.months.map((m) => m.month), lastMonths(NOW));
      assert.equal(books.months.length, 12);
      assert.equal(books.months[0]!.month, '2026-12');
      assert.equal(books.months[11]!.month, '2026-01');
      const [dec, nov, oct] = books.months;
      assert.deepEqual(dec, { month: '2026-12', costs: [{ label: 'colocation', amountMinor: 30000 }, { label: 'power', amountMinor: 4550 }], costsMinor: 34550, incomeMinor: 1250, balanceMinor: -33300 });
      assert.deepEqual(nov, { month: '2026-11', costs: [{ label: 'colocation', amountMinor: 30000 }], costsMinor: 30000, incomeMinor: 2000, balanceMinor: -28000 });
      // Only a credit, usage, a debit and a payment in USD in October: no income, no costs.
      assert.deepEqual(oct, { month: '2026-10', costs: [], costsMinor: 0, incomeMinor: 0, balanceMinor: 0 });
      assert.deepEqual(books.months[11], { month: '2026-01', costs: [], costsMinor: 0, incomeMinor: 111, balanceMinor: 111 });
      for (const m of books.months.slice(3, 11)) assert.deepEqual(m, { month: m.month, costs: [], costsMinor: 0, incomeMinor: 0, balanceMinor: 0 });
      assert.deepEqual(books.totals, { costsMinor: 64550, incomeMinor: 3361, balanceMinor: -61189 });
    });

    test('nothing about accounts leaks: no email, account or entry id, note, or who entered a cost', async () => {
      const books = await openBooks(database.db, { now: NOW });
      const text = JSON.stringify(books);
      const entries = await database.db.ledgerEntry.findMany({ select: { id: true } });
      const costs = await database.db.fleetCost.findMany({ select: { id: true } });
      for (const secret of ['alice', 'bob', '@example.com', 'secret', 'treasurer', alice, bob, ...entries.map((e) => e.id), ...costs.map((c) => c.id)]) {
        assert.ok(!text.includes(secret), `the books mention ${secret}`);
      }
      assert.deepEqual(Object.keys(books).sort(), ['currency', 'months', 'totals']);
      for (const m of books.months) {
        assert.deepEqual(Object.keys(m).sort(), ['balanceMinor', 'costs', 'costsMinor', 'incomeMinor', 'month']);
        for (const c of m.costs) assert.deepEqual(Object.keys(c).sort(), ['amountMinor', 'label']);
      }
    });

    test('a bad month, label or amount is refused, naming the field, with nothing written', async () => {
      const count = await database.db.fleetCost.count();
      for (const [over, field] of [
        [{ month: '2026-13' }, 'month'],
        [{ month: '2026-1' }, 'month'],
        [{ month: '26-01' }, 'month'],
        [{ month: '2026-12-01' }, 'month'],
        [{ label: '   ' }, 'label'],
        [{ label: 'x'.repeat(81) }, 'label'],
        [{ amountMinor: 0 }, 'amountMinor'],
        [{ amountMinor: -100 }, 'amountMinor'],
        [{ amountMinor: 12.5 }, 'amountMinor'],
        [{ amountMinor: 1_000_000_001 }, 'amountMinor'],
      ] as const) {
        const good = { month: '2026-12', label: 'power', amountMinor: 100, actor: ADMIN };
        await assert.rejects(addFleetCost(database.db, { ...good, ...over }), (err: unknown) => {
          assert.ok(err instanceof LedgerRefusal, String(err));
          assert.equal(err.field, field);
          return true;
        });
      }
      assert.equal(await database.db.fleetCost.count(), count);
      const kept = await addFleetCost(database.db, { month: '2026-09', label: `  ${'y'.repeat(80)}  `, amountMinor: 1, actor: ADMIN });
      assert.equal(kept.label, 'y'.repeat(80), 'trimmed, 80 characters allowed');
      assert.equal(kept.currency, 'EUR');
      assert.equal(kept.enteredBy, ADMIN);
      assert.ok(await deleteFleetCost(database.db, kept.id));
    });

    test('an item corrected or removed changes its month, and only it', async () => {
      const power = (await fleetCosts(database.db, { now: NOW })).find((c) => c.label === 'power')!;
      const fixed = await updateFleetCost(database.db, power.id, { month: '2026-12', label: 'power (grid)', amountMinor: 4600, actor: 'cli' });
      assert.equal(fixed?.updatedBy, 'cli');
      assert.equal(fixed?.enteredBy, ADMIN);
      let dec = (await openBooks(database.db, { now: NOW })).months[0]!;
      assert.deepEqual([dec.costs, dec.costsMinor, dec.balanceMinor], [[{ label: 'colocation', amountMinor: 30000 }, { label: 'power (grid)', amountMinor: 4600 }], 34600, -33350]);
      await assert.rejects(updateFleetCost(database.db, power.id, { month: '2026-12', label: 'power', amountMinor: 0, actor: 'cli' }), LedgerRefusal);
      assert.ok(await deleteFleetCost(database.db, power.id));
      assert.equal(await deleteFleetCost(database.db, power.id), false, 'gone already');
      assert.equal(await updateFleetCost(database.db, power.id, { month: '2026-12', label: 'power', amountMinor: 1, actor: 'cli' }), null);
      const books = await openBooks(database.db, { now: NOW });
      dec = books.months[0]!;
      assert.deepEqual([dec.costsMinor, dec.incomeMinor, dec.balanceMinor], [30000, 1250, -28750]);
      assert.equal(books.months[1]!.costsMinor, 30000);
      // The admins' list: the window and the month entered ahead, newest first.
      assert.deepEqual((await fleetCosts(database.db, { now: NOW })).map((c) => [c.month, c.label]), [['2027-01', 'colocation'], ['2026-12', 'colocation'], ['2026-11', 'colocation']]);
    });
  });
}
