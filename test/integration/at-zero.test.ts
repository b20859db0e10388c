// At zero, against a real hub process on PostgreSQL with a fake spoke, a real SMTP receiver and short
// configured periods: a create needs enough balance for its first hours (refused naming the shortfall, nothing
// written); the balance running low is mailed; at zero it is mailed, then the capsul is stopped and later
// deleted, each step mailed, kept as a BillingStep and done through the operations module (recorded, actor
// `system`); a top-up in between cancels the next step; an exempt account is left alone.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { TRPCClientError } from '@trpc/client';
import pg from 'pg';
import type { HubRouter } from '~/hub/root';
import { fieldIssues } from '~/lib/trpc-errors';
import { startSmtpReceiver } from '../../e2e/support/smtp';
import { createTestDatabase } from '../support/postgres';
import { allOnline, startHubProcess, startSpokeProcess, until, type Hub, type SpokeHandle } from '../support/processes';
import { makeTestTls, type TestTls } from '../support/tls';

const STOP_GRACE_MS = 2500;
const DELETE_GRACE_MS = 6000;

describe('at zero: warned, stopped, deleted; a top-up cancels the next step', () => {
  let tls: TestTls;
  let database: Awaited<ReturnType<typeof createTestDatabase>>;
  let sql: pg.Client;
  let smtp: Awaited<ReturnType<typeof startSmtpReceiver>>;
  let hub: Hub;
  let spoke: SpokeHandle;

  const subjects = (address: string) => smtp.mails.filter((m) => m.to.includes(address)).map((m) => /^Subject: (.*)$/m.exec(m.raw)?.[1]?.trim() ?? '');
  const steps = async (address: string) =>
    (await sql.query(`SELECT s.step FROM "BillingStep" s JOIN "Account" a ON a.id = s."accountId" WHERE a.email = $1 ORDER BY s."createdAt"`, [address])).rows.map((r) => r.step as string);
  const capsulState = async (id: string) => (await sql.query(`SELECT state, "deletedAt", "deletedBy" FROM "Capsul" WHERE id = $1`, [id])).rows[0];
  const systemOps = async (id: string) =>
    (await sql.query(`SELECT kind, payload->>'command' AS command, state FROM "Operation" WHERE "capsulId" = $1 AND actor = 'system' ORDER BY "createdAt"`, [id])).rows;
  const running = (id: string) => until(`${id} running`, async () => (await capsulState(id))?.state === 'running', 30_000);

  before(async () => {
    tls = await makeTestTls();
    database = await createTestDatabase();
    sql = new pg.Client({ connectionString: database.url });
    await sql.connect();
    smtp = await startSmtpReceiver();
    hub = await startHubProcess({
      databaseUrl: database.url,
      tls,
      env: {
        SMTP_URL: smtp.url,
        BILLING_CURRENCY: 'EUR',
        BILLING_METER_PERIOD_MS: '300',
        BILLING_MIN_BALANCE_HOURS: '24',
        BILLING_WARN_MS: String(30 * 86_400_000),
        BILLING_STOP_GRACE_MS: String(STOP_GRACE_MS),
        BILLING_DELETE_GRACE_MS: String(DELETE_GRACE_MS),
      },
    });
    spoke = await startSpokeProcess({ hub, hostId: 'spoke-a', tls, env: { FAKE_CREATE_MS: '50' } });
    await allOnline(hub, ['spoke-a']);
    // 7300 a month: 10 an hour at 100 %.
    await hub.admin.billing.setPrice.mutate({ size: 'nano', monthlyMinor: 7300 });
  });

  after(async () => {
    await sql?.end();
    await spoke?.proc.stop();
    await hub?.proc.stop();
    await smtp?.close();
    await database?.drop();
  });

  test('a create needs 24 hours of its size: refused naming the shortfall, nothing written', async () => {
    await hub.admin.billing.setAccount.mutate({ account: 'carol@example.com' });
    await hub.admin.billing.adjust.mutate({ account: 'carol@example.com', amountMinor: 239, note: 'one short' });
    const before = (await sql.query(`SELECT count(*)::int AS n FROM "Capsul"`)).rows[0].n;
    const err = await hub.admin.capsul.create.mutate({ owner: 'carol@example.com', image: 'debian-12', size: 'nano' }).then(
      () => assert.fail('accepted'),
      (e: unknown) => e as TRPCClientError<HubRouter>,
    );
    assert.ok(err instanceof TRPCClientError);
    assert.equal(err.data?.code, 'PAYMENT_REQUIRED');
    assert.deepEqual(fieldIssues(err).map((i) => i.path), ['size']);
    assert.match(err.message, /balance is 2\.39 EUR, and this size needs at least 2\.40 EUR \(24 hours of it\) to start: top up 0\.01 EUR or more/);
    assert.equal((await sql.query(`SELECT count(*)::int AS n FROM "Capsul"`)).rows[0].n, before);
  });

  test('low, zero, stopped; a top-up cancels the delete; at zero again: stopped, deleted', async () => {
    const carol = 'carol@example.com';
    await hub.admin.billing.adjust.mutate({ account: carol, amountMinor: 261, note: 'top-up in cash' }); // 5.00
    const { capsulId } = await hub.admin.capsul.create.mutate({ owner: carol, image: 'debian-12', size: 'nano' });
    await running(capsulId);
    // Charged its first hour (10), and 4.90 at 73.00 a month lasts two days: within the 30-day warning.
    await until('the first hour charged', async () => (await hub.admin.billing.account.query({ account: carol })).balanceMinor === 490, 10_000);
    await until('the low-balance mail', async () => subjects(carol).includes('Capsul: your balance runs out soon'), 10_000);
    const shown = await hub.admin.billing.account.query({ account: carol });
    assert.equal(shown.monthlyRateMinor, 7300);
    assert.ok(shown.runsOutAt && Math.abs(shown.runsOutAt.getTime() - (Date.now() + 49 * 3_600_000)) < 120_000, `runs out in 49 hours: ${shown.runsOutAt?.toISOString()}`);
    const usage = shown.ledger.filter((e) => e.kind === 'usage');
    assert.deepEqual(usage.map((e) => [e.capsulId, e.amountMinor]), [[capsulId, -10]]);

    await hub.admin.billing.adjust.mutate({ account: carol, amountMinor: -490, note: 'bounced transfer' });
    await until('the at-zero mail', async () => subjects(carol).includes('Capsul: your balance is at zero'), 10_000);
    await until('stopped after the stop grace', async () => (await capsulState(capsulId)).state === 'stopped', STOP_GRACE_MS + 10_000);
    assert.ok(subjects(carol).includes('Capsul: your capsuls are stopped'));
    assert.deepEqual(await systemOps(capsulId), [{ kind: 'vmState', command: 'stop', state: 'completed' }]);

    // A top-up before the delete grace: restored, and nothing is deleted after it has passed.
    await hub.admin.billing.adjust.mutate({ account: carol, amountMinor: 1000, note: 'paid at the meeting' });
    await until('the restored mail', async () => subjects(carol).includes('Capsul: your balance is above zero again'), 10_000);
    await new Promise((r) => setTimeout(r, DELETE_GRACE_MS + 1000));
    assert.equal((await capsulState(capsulId)).deletedAt, null, 'the top-up cancelled the delete');
    assert.deepEqual(await steps(carol), ['low', 'zero', 'stopped', 'restored']);

    // At zero again (stopped capsuls are still charged for: they hold their disk).
    await hub.admin.billing.adjust.mutate({ account: carol, amountMinor: -2000, note: 'chargeback' });
    await until('deleted after the delete grace', async () => (await capsulState(capsulId)).deletedAt !== null, DELETE_GRACE_MS + 15_000);
    const gone = await capsulState(capsulId);
    assert.equal(gone.state, 'deleted');
    assert.equal(gone.deletedBy, 'system');
    assert.deepEqual((await systemOps(capsulId)).map((o) => o.kind), ['vmState', 'destroy']);
    assert.deepEqual((await steps(carol)).slice(4), ['zero', 'stopped', 'deleted']);
    assert.ok(subjects(carol).includes('Capsul: your capsuls are being deleted'));
  });

  test('an exempt account at zero is not warned, stopped or deleted', async () => {
    const dave = 'dave@example.com';
    await hub.admin.billing.setAccount.mutate({ account: dave, exempt: true });
    const { capsulId } = await hub.admin.capsul.create.mutate({ owner: dave, image: 'debian-12', size: 'nano' });
    await running(capsulId);
    await until('charged', async () => (await hub.admin.billing.account.query({ account: dave })).balanceMinor < 0, 10_000);
    await new Promise((r) => setTimeout(r, STOP_GRACE_MS + 1500));
    assert.equal((await capsulState(capsulId)).state, 'running');
    assert.deepEqual(await steps(dave), []);
    assert.deepEqual(subjects(dave), []);
  });
});
