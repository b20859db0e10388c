// The steps at zero in-process on PGlite (the quick start's database) and PostgreSQL, at chosen moments: the
// low-balance notice once, re-armed only when the balance lasts again; zero, stopped and deleted after their
// graces (a capsul on no host, so the delete needs no spoke, and is recorded as an operation by `system`);
// two passes at once take each step once; a top-up cancels what was to come; exempt accounts are skipped.
// (test/integration/at-zero.test.ts does the same with a hub process, a spoke and an SMTP server.)
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { setBillingSettings } from '~/hub/billing/account-settings';
import { enforceAtZero } from '~/hub/billing/at-zero';
import type { BillingConfig } from '~/hub/billing/config';
import { adjustBalance } from '~/hub/billing/ledger';
import { billingOn } from '../support/billing';
import { openTestDatabase, type TestDb } from '../support/hub-db';

billingOn();

const HOUR = 3_600_000;
const config: BillingConfig = { currency: 'EUR', meterPeriodMs: 1000, minBalanceHours: 24, warnMs: 72 * HOUR, stopGraceMs: 10 * HOUR, deleteGraceMs: 20 * HOUR };
const T0 = new Date('2026-04-01T00:00:00.000Z');
const at = (hours: number) => new Date(T0.getTime() + hours * HOUR);

for (const kind of ['pglite', 'postgresql'] as const) {
  describe(`at zero on ${kind}`, () => {
    let database: TestDb;
    const mails: { to: string; subject: string }[] = [];
    const pass = (hours: number) => enforceAtZero(database.db, { now: at(hours), config, mail: async (m) => void mails.push({ to: m.to, subject: m.subject }) });
    const steps = async (accountId: string) => (await database.db.billingStep.findMany({ where: { accountId }, orderBy: { createdAt: 'asc' } })).map((s) => s.step);
    let n = 0;
    const adjust = (accountId: string, amountMinor: number) => adjustBalance(database.db, { accountId, amountMinor, note: 'test', actor: 'test', idempotencyKey: `t${++n}` });
    async function holder(email: string, sizeId = 'nano') {
      const { id } = await database.db.account.create({ data: { email } });
      // A capsul on no host (its VM is nowhere to stop or remove), of a priced size: 7300 a month, 10 an hour.
      await database.db.capsul.create({ data: { id: `capsul-${email.slice(0, 10).replace(/[^a-z]/g, 'x')}`, name: 'c', ownerId: id, vcpus: 1, memoryMb: 512, diskGb: 10, image: 'debian-12', sizeId, state: 'stopped' } });
      return id;
    }

    before(async () => {
      database = await openTestDatabase(kind);
      await database.db.price.create({ data: { sizeId: 'nano', monthlyMinor: 7300, currency: 'EUR', from: at(-100), setBy: 'test' } });
    });
    after(async () => database?.drop());

    test('the low-balance notice goes once, and again only after the balance lasted longer', async () => {
      const id = await holder('lowalice@example.com');
      await adjust(id, 500); // 50 hours at 10 an hour: within the 72-hour warning
      await pass(0);
      await pass(1);
      assert.deepEqual(await steps(id), ['low']);
      await adjust(id, 1000); // 150 hours: no longer within it, re-armed
      await pass(2);
      await adjust(id, -1000);
      await pass(3);
      assert.deepEqual(await steps(id), ['low', 'low']);
      assert.deepEqual(mails.filter((m) => m.to === 'lowalice@example.com').map((m) => m.subject), ['Capsul: your balance runs out soon', 'Capsul: your balance runs out soon']);
    });

    test('zero, stopped after the stop grace, deleted after the delete grace, recorded; two passes at once take each step once', async () => {
      const id = await holder('zerobob@example.com');
      await adjust(id, -1);
      await Promise.all([pass(0), pass(0)]);
      await Promise.all([pass(9.9), pass(9.9)]);
      assert.deepEqual(await steps(id), ['zero']);
      await Promise.all([pass(10), pass(10)]);
      assert.deepEqual(await steps(id), ['zero', 'stopped']);
      await Promise.all([pass(19), pass(19)]);
      assert.deepEqual(await steps(id), ['zero', 'stopped']);
      await Promise.all([pass(20), pass(20)]);
      assert.deepEqual(await steps(id), ['zero', 'stopped', 'deleted']);
      const capsul = await database.db.capsul.findFirstOrThrow({ where: { ownerId: id } });
      assert.equal(capsul.state, 'deleted');
      assert.equal(capsul.deletedBy, 'system');
      const destroys = await database.db.operation.findMany({ where: { capsulId: capsul.id, kind: 'destroy' } });
      assert.equal(destroys.length, 1, 'one delete, though two passes ran');
      assert.equal(destroys[0]!.actor, 'system');
      assert.deepEqual(mails.filter((m) => m.to === 'zerobob@example.com').map((m) => m.subject), [
        'Capsul: your balance is at zero',
        'Capsul: your capsuls are stopped',
        'Capsul: your capsuls are being deleted',
      ]);
    });

    test('a top-up between the stop and the delete cancels the delete', async () => {
      const id = await holder('topupcarol@example.com');
      await adjust(id, -5);
      await pass(0);
      await pass(10);
      await adjust(id, 3000);
      await pass(11);
      await pass(30);
      assert.deepEqual(await steps(id), ['zero', 'stopped', 'restored']);
      assert.equal((await database.db.capsul.findFirstOrThrow({ where: { ownerId: id } })).deletedAt, null);
      const row = await database.db.billingAccount.findUniqueOrThrow({ where: { accountId: id } });
      assert.deepEqual([row.zeroSince, row.stoppedAt, row.deletedAt], [null, null, null]);
    });

    test('an account paying nothing (a size without a price, as when billing is first turned on) is left alone at zero', async () => {
      const id = await holder('unpricederin@example.com', 'small');
      for (const h of [0, 10, 20, 30]) await pass(h);
      assert.deepEqual(await steps(id), []);
      assert.equal((await database.db.capsul.findFirstOrThrow({ where: { ownerId: id } })).deletedAt, null);
    });

    test('an exempt account is left alone', async () => {
      const id = await holder('exemptdave@example.com');
      await setBillingSettings(database.db, { accountId: id, exempt: true, actor: 'test' });
      await adjust(id, -10_000);
      for (const h of [0, 10, 20, 30]) await pass(h);
      assert.deepEqual(await steps(id), []);
      assert.equal((await database.db.capsul.findFirstOrThrow({ where: { ownerId: id } })).deletedAt, null);
    });
  });
}
