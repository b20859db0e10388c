// The open books through real hub processes on one PostgreSQL database: a hub with billing but without
// BILLING_PUBLIC_BOOKS refuses them clearly (NOT_FOUND, naming the setting), to anyone; a hub with it answers
// without a session, totals only; only admins (signed in, or the admin token) add, correct or delete cost
// items, and a refused or malformed call writes nothing.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { createTRPCClient, httpLink, type TRPCClient } from '@trpc/client';
import pg from 'pg';
import superjson from 'superjson';
import type { HubRouter } from '~/hub/root';
import { httpsFetch } from '~/lib/https-fetch';
import { fieldIssues } from '~/lib/trpc-errors';
import { signIn, type Session } from '../support/accounts';
import { createTestDatabase } from '../support/postgres';
import { startHubProcess, type Hub } from '../support/processes';
import { makeTestTls, type TestTls } from '../support/tls';
import { refusal } from '../support/refusal';

const thisMonth = () => new Date().toISOString().slice(0, 7);

describe('the open books', () => {
  let tls: TestTls;
  let database: Awaited<ReturnType<typeof createTestDatabase>>;
  let sql: pg.Client;
  let closed: Hub;
  let open: Hub;
  let admin: Session;
  let alice: Session;
  const anonymous = (hub: Hub): TRPCClient<HubRouter> =>
    createTRPCClient<HubRouter>({ links: [httpLink({ url: `${hub.url}/api/trpc`, transformer: superjson, fetch: httpsFetch({ ca: readFileSync(tls.caFile) }), headers: { origin: hub.url } })] });
  const costs = async () => (await sql.query(`SELECT month, label, "amountMinor", "enteredBy", "updatedBy" FROM "FleetCost" ORDER BY "createdAt", id`)).rows;

  before(async () => {
    tls = await makeTestTls();
    database = await createTestDatabase();
    sql = new pg.Client({ connectionString: database.url });
    await sql.connect();
    const common = { BILLING_CURRENCY: 'EUR', ADMIN_EMAILS: 'admin@example.com' };
    closed = await startHubProcess({ databaseUrl: database.url, tls, name: 'hub-closed', env: common });
    open = await startHubProcess({ databaseUrl: database.url, tls, name: 'hub-open', env: { ...common, BILLING_PUBLIC_BOOKS: 'true' } });
    admin = await signIn(open, tls, 'admin@example.com');
    alice = await signIn(open, tls, 'alice@example.com');
    // This month's income: alice's card payment and bob's, less a refund of bob's (as the rails write them).
    const bob = (await sql.query(`INSERT INTO "Account" (id, email) VALUES (gen_random_uuid(), 'bob@example.com') RETURNING id`)).rows[0].id as string;
    const aliceId = (await sql.query(`SELECT id FROM "Account" WHERE email = 'alice@example.com'`)).rows[0].id as string;
    for (const [accountId, kind, amount, key] of [
      [aliceId, 'payment', 2000, 'stripe:cs_alice'],
      [bob, 'payment', 1500, 'btcpay:inv_bob'],
      [bob, 'refund', -300, 'stripe:refund:re_bob'],
    ] as const) {
      await sql.query(`INSERT INTO "LedgerEntry" (id, "accountId", kind, "amountMinor", currency, "idempotencyKey", actor, note) VALUES (gen_random_uuid(), $1, $2, $3, 'EUR', $4, 'stripe', 'from bob@example.com')`, [accountId, kind, amount, key]);
    }
    await open.admin.billing.adjust.mutate({ account: 'alice@example.com', amountMinor: 5000, note: 'a gift, not income' });
  });

  after(async () => {
    await sql?.end();
    await closed?.proc.stop();
    await open?.proc.stop();
    await database?.drop();
  });

  test('off by default: refused clearly to anyone, signed in or not; admins still enter costs', async () => {
    for (const client of [anonymous(closed), closed.admin]) {
      const err = await refusal(client.billing.openBooks.query());
      assert.equal(err.data?.code, 'NOT_FOUND');
      assert.match(err.message, /does not publish its books \(BILLING_PUBLIC_BOOKS is off\)/);
    }
    const entered = await closed.admin.billing.addCost.mutate({ month: thisMonth(), label: 'colocation', amountMinor: 12000 });
    assert.equal(entered.enteredBy, 'cli');
    const list = await closed.admin.billing.fleetCosts.query();
    assert.equal(list.published, false);
    assert.deepEqual(list.costs.map((c) => [c.label, c.amountMinor]), [['colocation', 12000]]);
  });

  test('on: readable without a session, this month exact, totals only', async () => {
    await admin.client.billing.addCost.mutate({ month: thisMonth(), label: 'power', amountMinor: 3450 });
    assert.equal((await admin.client.billing.fleetCosts.query()).published, true);
    const books = await anonymous(open).billing.openBooks.query();
    assert.equal(books.currency, 'EUR');
    assert.equal(books.months.length, 12);
    assert.deepEqual(books.months[0], {
      month: thisMonth(),
      costs: [{ label: 'colocation', amountMinor: 12000 }, { label: 'power', amountMinor: 3450 }],
      costsMinor: 15450,
      incomeMinor: 3200,
      balanceMinor: -12250,
    });
    assert.ok(books.months.slice(1).every((m) => m.costsMinor === 0 && m.incomeMinor === 0 && m.costs.length === 0));
    const text = JSON.stringify(books);
    for (const secret of ['@example.com', 'cli', 'stripe', 'btcpay', 'gift', 'enteredBy']) assert.ok(!text.includes(secret), `the books mention ${secret}`);
    // The same over plain HTTPS with no cookie at all, as a browser of a passer-by asks.
    const res = await httpsFetch({ ca: readFileSync(tls.caFile) })(`${open.url}/api/trpc/billing.openBooks`);
    assert.equal(res.status, 200);
    assert.doesNotMatch(await res.text(), /example\.com/);
  });

  test('only admins add, correct or delete costs; a refusal writes nothing', async () => {
    const before = await costs();
    const [colocation] = (await open.admin.billing.fleetCosts.query()).costs;
    const month = thisMonth();
    for (const [call, code] of [
      [() => alice.client.billing.addCost.mutate({ month, label: 'my rent', amountMinor: 100 }), 'FORBIDDEN'],
      [() => alice.client.billing.updateCost.mutate({ id: colocation!.id, month, label: 'colocation', amountMinor: 1 }), 'FORBIDDEN'],
      [() => alice.client.billing.deleteCost.mutate({ id: colocation!.id }), 'FORBIDDEN'],
      [() => alice.client.billing.fleetCosts.query(), 'FORBIDDEN'],
      [() => anonymous(open).billing.addCost.mutate({ month, label: 'rent', amountMinor: 100 }), 'UNAUTHORIZED'],
      [() => anonymous(open).billing.deleteCost.mutate({ id: colocation!.id }), 'UNAUTHORIZED'],
    ] as const) {
      assert.equal((await refusal(call())).data?.code, code);
    }
    assert.deepEqual(await costs(), before);

    const fixed = await admin.client.billing.updateCost.mutate({ id: colocation!.id, month, label: 'colocation (rack 4)', amountMinor: 12500 });
    assert.deepEqual([fixed.label, fixed.amountMinor, fixed.enteredBy, fixed.updatedBy], ['colocation (rack 4)', 12500, 'cli', 'account:admin@example.com']);
    const disk = await open.admin.billing.addCost.mutate({ month, label: 'a new disk', amountMinor: 8000 });
    assert.deepEqual(await admin.client.billing.deleteCost.mutate({ id: disk.id }), { id: disk.id, deleted: true });
    const gone = await refusal(admin.client.billing.deleteCost.mutate({ id: disk.id }));
    assert.equal(gone.data?.code, 'NOT_FOUND');
    const dec = (await anonymous(open).billing.openBooks.query()).months[0]!;
    assert.deepEqual([dec.costs.map((c) => c.label), dec.costsMinor, dec.balanceMinor], [['colocation (rack 4)', 'power'], 15950, -12750]);
  });

  test('bad input is refused, naming the field, with nothing written', async () => {
    const before = await costs();
    const [item] = (await open.admin.billing.fleetCosts.query()).costs;
    const good = { month: thisMonth(), label: 'power', amountMinor: 100 };
    for (const [input, field] of [
      [{ ...good, month: '2026-13' }, 'month'],
      [{ ...good, month: '2026-1' }, 'month'],
      [{ ...good, month: 'December' }, 'month'],
      [{ ...good, label: '' }, 'label'],
      [{ ...good, label: '   ' }, 'label'],
      [{ ...good, label: 'x'.repeat(81) }, 'label'],
      [{ ...good, amountMinor: 0 }, 'amountMinor'],
      [{ ...good, amountMinor: -500 }, 'amountMinor'],
      [{ ...good, amountMinor: 12.5 }, 'amountMinor'],
      [{ ...good, amountMinor: '100' }, 'amountMinor'],
      [{ ...good, amountMinor: 2_000_000_000 }, 'amountMinor'],
    ] as const) {
      const err = await refusal(open.admin.billing.addCost.mutate(input as typeof good));
      assert.equal(err.data?.code, 'BAD_REQUEST', JSON.stringify(input));
      assert.deepEqual(fieldIssues(err).map((i) => i.path), [field], JSON.stringify(input));
      const upd = await refusal(open.admin.billing.updateCost.mutate({ ...(input as typeof good), id: item!.id }));
      assert.deepEqual(fieldIssues(upd).map((i) => i.path), [field]);
    }
    assert.deepEqual(fieldIssues(await refusal(open.admin.billing.deleteCost.mutate({ id: 'not-an-id' }))).map((i) => i.path), ['id']);
    assert.equal((await refusal(open.admin.billing.updateCost.mutate({ ...good, id: '00000000-0000-4000-8000-000000000000' }))).data?.code, 'NOT_FOUND');
    assert.deepEqual(await costs(), before);
  });
});
