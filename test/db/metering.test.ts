// Metering on PGlite and on PostgreSQL. Charges are exact to the minor unit: a month of hours at a price
// costs that price, hours are charged once begun (a part counts), a price change applies to the hours that
// begin after it, a deletion ends the charges, the owner's multiplier scales them. A run killed half way and
// run again, a plan replayed after it was applied, and two meters at once each charge once. A capsul whose
// create failed, or ended in a conflict, is never charged; one still building is charged from its
// assignment once it is built; hours before its size had a price are free.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { setBillingSettings } from '~/hub/billing/account-settings';
import { appendEntry, balance } from '~/hub/billing/ledger';
import { HOUR_MS, meter, planUsage } from '~/hub/billing/metering';
import { openDatabase, type Database } from '~/hub/db/open';
import { billingOn, placedCapsul } from '../support/billing';
import { openTestDatabase, type TestDb } from '../support/hub-db';
import { createTestDatabase } from '../support/postgres';

billingOn();

const T0 = new Date('2026-03-01T10:17:23.456Z');
const at = (hours: number, minutes = 0) => new Date(T0.getTime() + hours * HOUR_MS + minutes * 60_000);

/** What the rule says, computed apart from the code: the whole minor units of Σ price × percent / 73 000. */
function expected(hourPrices: number[], percent = 100): number {
  return Math.floor((hourPrices.reduce((a, p) => a + p, 0) * percent) / 73_000);
}

for (const kind of ['pglite', 'postgresql'] as const) {
  describe(`metering on ${kind}`, () => {
    let database: TestDb;
    let n = 0;
    const account = async () => (await database.db.account.create({ data: { email: `m${++n}@example.com` } })).id;
    const price = (sizeId: string, monthlyMinor: number, from: Date) => database.db.price.create({ data: { sizeId, monthlyMinor, currency: 'EUR', from, setBy: 'test' } });
    const charged = async (capsulId: string) => 0 - ((await database.db.ledgerEntry.aggregate({ where: { capsulId }, _sum: { amountMinor: true } }))._sum.amountMinor ?? 0);

    before(async () => {
      database = await openTestDatabase(kind);
      // nano: 1000 a month from well before; small: 2190 from T0 + 10h20m on, 3650 before.
      await price('nano', 1000, at(-24));
      await price('small', 3650, at(-24));
      await price('small', 2190, at(10, 20));
    });
    after(async () => database?.drop());

    test('hours are charged once begun, exactly: a month at one price costs that price', async () => {
      const owner = await account();
      await placedCapsul(database.db, { id: 'capsul-month00001', ownerId: owner, sizeId: 'nano', assignedAt: T0, create: 'completed' });
      // Runs at uneven times across a month; after each, the charge is exactly the rule's for the hours begun.
      const runs = [0.01, 0.5, 0.99, 1.0, 1.01, 2.7, 9, 100.5, 363.2, 729.99];
      for (const h of runs) {
        await meter(database.db, { now: at(0, h * 60) });
        const begun = Math.floor(h) + 1;
        assert.equal(await charged('capsul-month00001'), expected(Array(begun).fill(1000)), `after ${h} h`);
      }
      assert.equal(await charged('capsul-month00001'), 1000, '730 hours begun: one month, 1000 exactly');
      assert.equal(await balance(database.db, owner), -1000);
      // A second run at the same moment finds nothing new.
      assert.deepEqual(await meter(database.db, { now: at(729, 59) }), { entries: 0, chargedMinor: 0, duplicates: 0 });
    });

    test('a resize changes the size charged from the next hour that begins after it completed; a resize that failed changes nothing', async () => {
      const owner = await account();
      await placedCapsul(database.db, { id: 'capsul-resized01', ownerId: owner, sizeId: 'nano', assignedAt: T0, create: 'completed' });
      await meter(database.db, { now: at(3, 30) }); // hours 0…3 as nano
      // Resized to large at 5 h 40 min, then (a failed try at medium between) to small at 8 h 10 min.
      await database.db.price.create({ data: { sizeId: 'large', monthlyMinor: 7300, currency: 'EUR', from: at(-24), setBy: 'test' } });
      const resize = (completedAt: Date, fromSizeId: string, sizeId: string, state: 'completed' | 'failed' = 'completed') =>
        database.db.operation.create({ data: { kind: 'resize', state, actor: 'test', capsulId: 'capsul-resized01', hostId: 'h1', payload: { fromSizeId, sizeId }, createdAt: completedAt, completedAt } });
      await resize(at(5, 40), 'nano', 'large');
      await resize(at(6, 50), 'medium', 'nano', 'failed'); // were it counted, hour 6 would be charged as unpriced medium
      await resize(at(8, 10), 'large', 'small');
      await database.db.capsul.update({ where: { id: 'capsul-resized01' }, data: { sizeId: 'small' } });
      await meter(database.db, { now: at(11, 30) });
      // Hours 0…5 began as nano (hour 5 began at 5:00, before the resize at 5:40), 6…8 as large, 9…11 as
      // small (3650 before 10:20, 2190 for hour 11).
      const hours = [...Array(6).fill(1000), ...Array(3).fill(7300), 3650, 3650, 2190];
      assert.equal(await charged('capsul-resized01'), expected(hours));
    });

    test('a price change applies to the hours that begin after it; deletion ends the charges', async () => {
      const owner = await account();
      await placedCapsul(database.db, { id: 'capsul-pricechg1', ownerId: owner, sizeId: 'small', assignedAt: T0, create: 'completed', deletedAt: at(30, 5) });
      await meter(database.db, { now: at(10, 10) }); // 11 hours begun at the old price
      assert.equal(await charged('capsul-pricechg1'), expected(Array(11).fill(3650)));
      await meter(database.db, { now: at(50) });
      // Hour 10 began at 10:00, before the change at 10:20 (old price); hours 11…30 began after it; hour 31
      // would begin at 31:00, after the deletion at 30:05.
      const hours = [...Array(11).fill(3650), ...Array(20).fill(2190)];
      assert.equal(await charged('capsul-pricechg1'), expected(hours));
      assert.equal(await charged('capsul-pricechg1'), 115); // (11 × 3650 + 20 × 2190) / 730 = 83 950 / 730 = 115
      await meter(database.db, { now: at(500) });
      assert.equal(await charged('capsul-pricechg1'), 115, 'nothing after the deletion');
      const entries = await database.db.ledgerEntry.findMany({ where: { capsulId: 'capsul-pricechg1' }, orderBy: { usageFrom: 'asc' } });
      assert.deepEqual(entries.map((e) => [e.usageFrom?.toISOString(), e.usageUntil?.toISOString()]), [
        [T0.toISOString(), at(11).toISOString()],
        [at(11).toISOString(), at(31).toISOString()],
      ]);
      assert.equal(entries.at(-1)!.usageUnits, BigInt((11 * 3650 + 20 * 2190) * 100));
    });

    test("the owner's multiplier scales the price", async () => {
      const owner = await account();
      await setBillingSettings(database.db, { accountId: owner, multiplierPercent: 35, actor: 'test' });
      await placedCapsul(database.db, { id: 'capsul-sliding01', ownerId: owner, sizeId: 'nano', assignedAt: T0, create: 'completed' });
      await meter(database.db, { now: at(729, 30) });
      assert.equal(await charged('capsul-sliding01'), 350);
    });

    test('a failed create and a conflict are never charged; a create still building is charged from its assignment once built', async () => {
      const owner = await account();
      await placedCapsul(database.db, { id: 'capsul-failed001', ownerId: owner, sizeId: 'nano', assignedAt: T0, create: 'failed' });
      await placedCapsul(database.db, { id: 'capsul-conflict1', ownerId: owner, sizeId: 'nano', assignedAt: T0, create: 'conflict' });
      const building = await placedCapsul(database.db, { id: 'capsul-building1', ownerId: owner, sizeId: 'nano', assignedAt: T0, create: 'assigned' });
      await meter(database.db, { now: at(100) });
      assert.equal(await balance(database.db, owner), 0);
      await database.db.operation.update({ where: { id: building.operationId }, data: { state: 'completed', completedAt: at(0, 3) } });
      await meter(database.db, { now: at(100) });
      assert.equal(await charged('capsul-building1'), expected(Array(101).fill(1000)));
      assert.equal(await charged('capsul-failed001'), 0);
      assert.equal(await charged('capsul-conflict1'), 0);
    });

    test('hours before the size had a price are free; a hand-sized capsul is not charged', async () => {
      const owner = await account();
      await placedCapsul(database.db, { id: 'capsul-earlybird', ownerId: owner, sizeId: 'medium', assignedAt: T0, create: 'completed' });
      await placedCapsul(database.db, { id: 'capsul-handsized', ownerId: owner, sizeId: null, assignedAt: T0, create: 'completed' });
      await meter(database.db, { now: at(5) });
      assert.equal(await balance(database.db, owner), 0, 'medium has no price yet');
      await price('medium', 7300, at(5, 30)); // hours 6, 7, … begin after it
      await meter(database.db, { now: at(8, 1) }); // hours 0…8 begun; 6, 7 and 8 priced
      assert.equal(await charged('capsul-earlybird'), expected([7300, 7300, 7300]));
      assert.equal(await charged('capsul-earlybird'), 30);
      const first = await database.db.ledgerEntry.findFirstOrThrow({ where: { capsulId: 'capsul-earlybird' } });
      assert.equal(first.usageFrom?.toISOString(), at(6).toISOString());
      assert.equal(await charged('capsul-handsized'), 0);
    });

    test('a run killed half way, then run again, charges each hour once; a plan replayed after it was applied adds nothing', async () => {
      const owner = await account();
      const ids = ['capsul-killed001', 'capsul-killed002', 'capsul-killed003'];
      for (const id of ids) await placedCapsul(database.db, { id, ownerId: owner, sizeId: 'nano', assignedAt: T0, create: 'completed' });
      const now = at(47, 10);
      const plan = await planUsage(database.db, now);
      const mine = plan.filter((e) => e.accountId === owner);
      assert.equal(mine.length, 3);
      // Killed right after the first entry of this account.
      const entriesOf = () => database.db.ledgerEntry.count({ where: { accountId: owner } });
      await assert.rejects(meter(database.db, { now, afterEntry: (e) => { if (e.accountId === owner) throw new Error('killed'); } }), /killed/);
      assert.equal(await entriesOf(), 1);
      await meter(database.db, { now });
      assert.equal(await entriesOf(), 3, 'the run again writes what the killed one did not');
      // The killed run had charged and not recorded that it had: it runs its plan again.
      for (const entry of mine) assert.equal((await appendEntry(database.db, entry)).created, false);
      for (const id of ids) assert.equal(await charged(id), expected(Array(48).fill(1000)));
      assert.equal(await balance(database.db, owner), -3 * expected(Array(48).fill(1000)));
    });
  });
}

// Two hubs metering one PostgreSQL database at once, each with its own connections (and on PGlite, two runs
// on the one handle at once).
describe('two meters at once charge once', () => {
  for (const kind of ['pglite', 'postgresql'] as const) {
    test(`on ${kind}`, async () => {
      let hubs: Database[];
      let drop: () => Promise<void>;
      if (kind === 'pglite') {
        const database = await openTestDatabase('pglite');
        hubs = [database, database];
        drop = () => database.drop();
      } else {
        const pg = await createTestDatabase();
        const a = await openDatabase({ url: pg.url, dataDir: '/tmp', poolSize: 8 });
        await a.migrate();
        const b = await openDatabase({ url: pg.url, dataDir: '/tmp', poolSize: 8 });
        hubs = [a, b];
        drop = async () => {
          await a.close();
          await b.close();
          await pg.drop();
        };
      }
      try {
        const db = hubs[0]!.db;
        await db.vmSize.create({ data: { id: 'tiny', name: 'Tiny', vcpus: 1, memoryMb: 256, diskGb: 5 } }).catch(() => {});
        await db.price.create({ data: { sizeId: 'tiny', monthlyMinor: 999, currency: 'EUR', from: at(-1), setBy: 'test' } });
        const owner = (await db.account.create({ data: { email: 'race@example.com' } })).id;
        const ids = Array.from({ length: 8 }, (_, i) => `capsul-race0000${i}`);
        for (const id of ids) await placedCapsul(db, { id, ownerId: owner, sizeId: 'tiny', assignedAt: T0, create: 'completed' });
        let total = 0;
        for (const h of [0, 3.5, 3.6, 17, 200, 729.5]) {
          const now = at(0, h * 60);
          const results = await Promise.all([meter(hubs[0]!.db, { now }), meter(hubs[1]!.db, { now }), meter(hubs[1]!.db, { now })]);
          total += results.reduce((a, r) => a + r.chargedMinor, 0);
          const each = expected(Array(Math.floor(h) + 1).fill(999));
          assert.equal(-(await balance(db, owner)), ids.length * each, `after ${h} h`);
        }
        assert.equal(-(await balance(db, owner)), ids.length * 999, 'a month each, exactly');
        assert.equal(total, ids.length * 999, 'what the runs say they charged is what was charged');
      } finally {
        await drop();
      }
    });
  }
});
