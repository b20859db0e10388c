// Who reaches what of billing, against a real hub process on PostgreSQL: an account reads its own balance and
// ledger and never another's (not by naming it, not through a ledger cursor); only admins (signed in, or the
// admin token) credit, debit, change prices or set a multiplier, and a refused call writes nothing; the
// multiplier an admin sets is shown to that account.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import pg from 'pg';
import { signIn, type Session } from '../support/accounts';
import { createTestDatabase } from '../support/postgres';
import { startHubProcess, type Hub } from '../support/processes';
import { makeTestTls, type TestTls } from '../support/tls';
import { refusal } from '../support/refusal';

describe('billing access', () => {
  let tls: TestTls;
  let database: Awaited<ReturnType<typeof createTestDatabase>>;
  let sql: pg.Client;
  let hub: Hub;
  let alice: Session;
  let bob: Session;
  let admin: Session;
  const written = async () => (await sql.query(`SELECT (SELECT count(*)::int FROM "LedgerEntry") AS entries, (SELECT count(*)::int FROM "Price") AS prices, (SELECT count(*)::int FROM "BillingAccount") AS settings`)).rows[0];

  before(async () => {
    tls = await makeTestTls();
    database = await createTestDatabase();
    sql = new pg.Client({ connectionString: database.url });
    await sql.connect();
    hub = await startHubProcess({ databaseUrl: database.url, tls, env: { BILLING_CURRENCY: 'EUR', ADMIN_EMAILS: 'admin@example.com' } });
    alice = await signIn(hub, tls, 'alice@example.com');
    bob = await signIn(hub, tls, 'bob@example.com');
    admin = await signIn(hub, tls, 'admin@example.com');
    await hub.admin.billing.adjust.mutate({ account: 'alice@example.com', amountMinor: 1200, note: 'welcome credit' });
    await admin.client.billing.adjust.mutate({ account: 'bob@example.com', amountMinor: 3400, note: "bob's secret transfer" });
  });

  after(async () => {
    await sql?.end();
    await hub?.proc.stop();
    await database?.drop();
  });

  test('an account reads its own balance and ledger, without who made each entry', async () => {
    const mine = await alice.client.billing.account.query();
    assert.equal(mine.account, 'alice@example.com');
    assert.equal(mine.balanceMinor, 1200);
    assert.equal(mine.currency, 'EUR');
    assert.deepEqual(mine.ledger.map((e) => [e.kind, e.amountMinor, e.note, e.actor]), [['credit', 1200, 'welcome credit', null]]);
    const asAdmin = await admin.client.billing.account.query({ account: 'alice@example.com' });
    assert.equal(asAdmin.ledger[0]?.actor, 'cli', 'admins see who made it');
  });

  test("never another's: naming it is refused, and a cursor from another ledger shows nothing of it", async () => {
    const err = await refusal(alice.client.billing.account.query({ account: 'bob@example.com' }));
    assert.equal(err.data?.code, 'FORBIDDEN');
    assert.doesNotMatch(err.message, /3400|34\.00|secret/);
    const bobs = await bob.client.billing.account.query();
    assert.equal(bobs.balanceMinor, 3400);
    const viaCursor = await alice.client.billing.account.query({ before: bobs.ledger[0]!.id });
    assert.equal(viaCursor.account, 'alice@example.com');
    assert.equal(viaCursor.balanceMinor, 1200);
    assert.ok(viaCursor.ledger.every((e) => e.note !== "bob's secret transfer"));
    assert.equal((await refusal(alice.client.billing.accounts.query())).data?.code, 'FORBIDDEN');
  });

  test('only admins credit, debit, change prices or set a multiplier; a refusal writes nothing', async () => {
    const before = await written();
    for (const call of [
      () => alice.client.billing.adjust.mutate({ account: 'alice@example.com', amountMinor: 100000, note: 'free money' }),
      () => alice.client.billing.adjust.mutate({ account: 'bob@example.com', amountMinor: -3400, note: 'take it' }),
      () => alice.client.billing.setPrice.mutate({ size: 'nano', monthlyMinor: 0 }),
      () => alice.client.billing.setAccount.mutate({ account: 'alice@example.com', multiplierPercent: 0 }),
      () => alice.client.billing.setAccount.mutate({ account: 'alice@example.com', exempt: true }),
    ]) {
      assert.equal((await refusal(call())).data?.code, 'FORBIDDEN');
    }
    assert.deepEqual(await written(), before);
    assert.equal((await alice.client.billing.account.query()).balanceMinor, 1200);

    // Admins may, signed in or with the token.
    await admin.client.billing.setPrice.mutate({ size: 'nano', monthlyMinor: 500 });
    await hub.admin.billing.setPrice.mutate({ size: 'small', monthlyMinor: 900 });
    const prices = await alice.client.billing.prices.query();
    assert.deepEqual(prices.sizes.filter((s) => s.monthlyMinor !== null).map((s) => [s.sizeId, s.monthlyMinor]), [['nano', 500], ['small', 900]]);
    const debit = await admin.client.billing.adjust.mutate({ account: 'alice@example.com', amountMinor: -200, note: 'correction' });
    assert.equal(debit.balanceMinor, 1000);
    assert.equal(debit.kind, 'debit');
  });

  test('the same form sent twice credits once', async () => {
    const key = '5f0c3f4e-8a1b-4c2d-9e3f-0a1b2c3d4e5f';
    const once = await admin.client.billing.adjust.mutate({ account: 'bob@example.com', amountMinor: 100, note: 'cash', idempotencyKey: key });
    const twice = await admin.client.billing.adjust.mutate({ account: 'bob@example.com', amountMinor: 100, note: 'cash', idempotencyKey: key });
    assert.equal(once.created, true);
    assert.equal(twice.created, false);
    assert.equal(twice.entryId, once.entryId);
    assert.equal(twice.balanceMinor, 3500);
  });

  test("the multiplier an admin sets is shown to that account, and to no other's", async () => {
    await admin.client.billing.setAccount.mutate({ account: 'alice@example.com', multiplierPercent: 60 });
    assert.equal((await alice.client.billing.account.query()).multiplierPercent, 60);
    assert.equal((await bob.client.billing.account.query()).multiplierPercent, 100);
    const bad = await refusal(admin.client.billing.setAccount.mutate({ account: 'alice@example.com', multiplierPercent: -5 }));
    assert.equal(bad.data?.code, 'BAD_REQUEST');
  });
});
