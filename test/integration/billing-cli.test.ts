// The operator's billing commands as a process against a real hub on PostgreSQL: prices set and shown,
// credit and debit with a note (refused without one), balance and ledger in the currency's units, --json.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { cliEnv, runCli } from '../support/cli';
import { createTestDatabase } from '../support/postgres';
import { startHubProcess, type Hub } from '../support/processes';
import { makeTestTls, type TestTls } from '../support/tls';

describe('the billing CLI', () => {
  let tls: TestTls;
  let database: Awaited<ReturnType<typeof createTestDatabase>>;
  let hub: Hub;
  let env: Record<string, string>;

  before(async () => {
    tls = await makeTestTls();
    database = await createTestDatabase();
    hub = await startHubProcess({ databaseUrl: database.url, tls, env: { BILLING_CURRENCY: 'EUR' } });
    env = cliEnv(hub, tls);
    await hub.admin.billing.setAccount.mutate({ account: 'erin@example.com' });
  });
  after(async () => {
    await hub?.proc.stop();
    await database?.drop();
  });

  test('prices set, then listed', async () => {
    const set = await runCli(['prices', 'set', 'small', '7.30'], env);
    assert.equal(set.exitCode, 0, set.stderr);
    assert.match(set.stdout, /^small: 7\.30 EUR a month from \d{4}-\d\d-\d\dT.* on$/);
    const list = await runCli(['prices'], env);
    assert.equal(list.exitCode, 0, list.stderr);
    assert.match(list.stdout, /small +Small +7\.30 EUR/);
    assert.match(list.stdout, /nano +Nano +no price/);
  });

  test('credit and debit need a note; balance and ledger show them', async () => {
    const bare = await runCli(['credit', 'erin@example.com', '20'], env);
    assert.equal(bare.exitCode, 2);
    assert.match(bare.stderr, /missing --note/);
    const bad = await runCli(['credit', 'erin@example.com', '12.345', '--note', 'x'], env);
    assert.equal(bad.exitCode, 2);
    assert.match(bad.stderr, /give the amount in EUR, e\.g\. 12\.50/);

    const credit = await runCli(['credit', 'erin@example.com', '20', '--note', 'bank transfer 2026-03'], env);
    assert.equal(credit.exitCode, 0, credit.stderr);
    assert.equal(credit.stdout, 'credited 20.00 EUR; erin@example.com now has 20.00 EUR');
    const debit = await runCli(['debit', 'erin@example.com', '2.50', '--note', 'fee'], env);
    assert.equal(debit.stdout, 'debited 2.50 EUR; erin@example.com now has 17.50 EUR');

    const balance = await runCli(['balance', 'erin@example.com'], env);
    assert.equal(balance.stdout, 'erin@example.com: 17.50 EUR; pays 0.00 EUR a month now (100 % of the prices)');
    const json = await runCli(['balance', 'erin@example.com', '--json'], env);
    assert.equal(JSON.parse(json.stdout).balanceMinor, 1750);

    const ledger = await runCli(['ledger', 'erin@example.com'], env);
    assert.equal(ledger.exitCode, 0, ledger.stderr);
    const lines = ledger.stdout.trim().split('\n');
    assert.match(lines[0]!, /^at +kind +amount +capsul +hours +note +by$/);
    assert.match(lines[1]!, /debit +-2\.50 EUR .* fee +cli$/);
    assert.match(lines[2]!, /credit +20\.00 EUR .* bank transfer 2026-03 +cli$/);
  });

  test('a hub without BILLING_CURRENCY says billing is off, to the CLI and the API', async () => {
    const off = await startHubProcess({ databaseUrl: database.url, tls, name: 'hub-without-billing' });
    try {
      const r = await runCli(['balance', 'erin@example.com'], cliEnv(off, tls));
      assert.equal(r.exitCode, 1);
      assert.match(r.stderr, /^error: billing is off on this hub \(BILLING_CURRENCY is not set there\)/);
      assert.deepEqual(await off.admin.billing.status.query(), { enabled: false, currency: null });
      const err = await off.admin.billing.adjust.mutate({ account: 'erin@example.com', amountMinor: 100, note: 'x' }).then(
        () => assert.fail('accepted'),
        (e: { data?: { code?: string } }) => e,
      );
      assert.equal(err.data?.code, 'PRECONDITION_FAILED');
    } finally {
      await off.proc.stop();
    }
  });

  test('an unknown account is the hub refusing, naming it', async () => {
    const r = await runCli(['balance', 'nobody@example.com'], env);
    assert.equal(r.exitCode, 1);
    assert.match(r.stderr, /^error \(NOT_FOUND\): account: No account has the email nobody@example\.com/);
  });
});
