// Console tickets on PostgreSQL: minted with a `console` operation, redeemed once by the session that minted
// it, never by another session, after its expiry, or twice (also not by two racing redeems); an unused one
// fails its operation; the session's end completes it with who, from where and how long.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { failOrphanedSessions, failUnusedTickets, finishConsoleSession, mintTicket, ORPHAN_AFTER_MS, redeemTicket, touchConsoleSession } from '~/hub/console/tickets';
import { pruneOldRows } from '~/hub/operations/retention';
import { hashToken, newToken } from '~/lib/tokens';
import { openTestDatabase, type TestDb } from '../support/hub-db';

describe('console tickets', () => {
  let database: TestDb;
  const capsul = { id: 'capsul-tickettest', hostId: 'h1' };
  const alice = newToken();
  const bob = newToken();

  before(async () => {
    database = await openTestDatabase('postgresql');
    const db = database.db;
    await db.host.create({ data: { id: 'h1', httpsUrl: 'https://127.0.0.1:1', tokenHash: hashToken(newToken()) } });
    const owner = await db.account.create({ data: { email: 'alice@example.com' } });
    await db.capsul.create({ data: { id: capsul.id, name: 'c', ownerId: owner.id, hostId: 'h1', vcpus: 1, memoryMb: 256, diskGb: 10, image: 'debian-12', state: 'running' } });
  });
  after(() => database?.drop());

  const mint = (sessionToken: string | undefined, kind: 'serial' | 'vnc' = 'serial') =>
    mintTicket(database.db, { capsul, kind, actor: 'account:alice@example.com', sessionToken, clientAddress: '192.0.2.7' });

  test('minting records an assigned console operation and stores only the hash', async () => {
    const minted = await mint(alice);
    const op = await database.db.operation.findUniqueOrThrow({ where: { id: minted.operationId }, include: { hostOperations: true } });
    assert.equal(op.kind, 'console');
    assert.equal(op.state, 'assigned');
    assert.equal(op.capsulId, capsul.id);
    assert.deepEqual(op.payload, { id: capsul.id, from: '192.0.2.7', console: 'serial' });
    assert.equal(op.hostOperations[0]?.assignmentStatus, 'assigned');
    const rows = await database.db.consoleTicket.findMany({ where: { operationId: minted.operationId } });
    assert.equal(rows.length, 1);
    assert.equal(rows[0]!.tokenHash, hashToken(minted.ticket));
    assert.ok(!JSON.stringify(rows).includes(minted.ticket), 'the ticket itself is not stored');
  });

  test('redeemed once, by the minting session only; not by another session, the admin token, garbage or twice', async () => {
    const minted = await mint(alice);
    await assert.rejects(redeemTicket(database.db, minted.ticket, bob), /expired, was used already, or is not yours/);
    await assert.rejects(redeemTicket(database.db, minted.ticket, undefined), /not yours/);
    await assert.rejects(redeemTicket(database.db, 'x'.repeat(43), alice), /not yours/);
    await assert.rejects(redeemTicket(database.db, "'; drop table", alice), /not yours/);
    const redeemed = await redeemTicket(database.db, minted.ticket, alice);
    assert.deepEqual(redeemed, { capsulId: capsul.id, operationId: minted.operationId, actor: 'account:alice@example.com', clientAddress: '192.0.2.7', kind: 'serial' });
    await assert.rejects(redeemTicket(database.db, minted.ticket, alice), /used already/);
  });

  test('two racing redeems: exactly one wins', async () => {
    const minted = await mint(alice);
    const results = await Promise.allSettled(Array.from({ length: 8 }, () => redeemTicket(database.db, minted.ticket, alice)));
    assert.equal(results.filter((r) => r.status === 'fulfilled').length, 1);
  });

  test('an admin-token ticket is redeemed without a session; an expired one is not, and the reaper fails its operation', async () => {
    const admin = await mint(undefined);
    assert.equal((await redeemTicket(database.db, admin.ticket, undefined)).operationId, admin.operationId);
    const old = await mint(alice);
    await database.db.consoleTicket.updateMany({ where: { operationId: old.operationId }, data: { expiresAt: new Date(Date.now() - 1000) } });
    await assert.rejects(redeemTicket(database.db, old.ticket, alice), /expired/);
    assert.ok((await failUnusedTickets(database.db)) >= 1);
    const op = await database.db.operation.findUniqueOrThrow({ where: { id: old.operationId } });
    assert.equal(op.state, 'failed');
    assert.equal(op.error, 'the console ticket expired unused');
  });

  test("the session's end completes the operation with how long, from where, and why", async () => {
    const minted = await mint(alice);
    await redeemTicket(database.db, minted.ticket, alice);
    await finishConsoleSession(database.db, minted.operationId, { hostId: 'h1', ms: 1234, reason: 'the viewer closed the console', from: '192.0.2.7', bytesIn: 9, bytesOut: 99, attached: true });
    const op = await database.db.operation.findUniqueOrThrow({ where: { id: minted.operationId }, include: { hostOperations: true } });
    assert.equal(op.state, 'completed');
    assert.ok(op.completedAt);
    assert.deepEqual(op.hostOperations[0]?.result, { ms: 1234, reason: 'the viewer closed the console', from: '192.0.2.7', bytesIn: 9, bytesOut: 99 });
  });

  test('a graphical-console ticket redeems as vnc', async () => {
    const minted = await mint(alice, 'vnc');
    assert.equal((await redeemTicket(database.db, minted.ticket, alice)).kind, 'vnc');
  });

  test('a session whose hub died (nobody touches its operation) is failed by the reaper; a live one, and a fresh ticket, are not', async () => {
    const db = database.db;
    const dead = await mint(alice);
    await redeemTicket(db, dead.ticket, alice);
    const live = await mint(alice);
    await redeemTicket(db, live.ticket, alice);
    const fresh = await mint(alice);
    const later = new Date(Date.now() + ORPHAN_AFTER_MS + 61_000);
    // The live session's relay touched it recently (as of `later`); the dead one's last touch is its minting.
    await touchConsoleSession(db, live.operationId);
    await db.operation.update({ where: { id: live.operationId }, data: { updatedAt: new Date(later.getTime() - 1000) } });
    await db.operation.update({ where: { id: fresh.operationId }, data: { createdAt: new Date(later.getTime() - 5000), updatedAt: new Date(later.getTime() - 5000) } });
    assert.ok((await failOrphanedSessions(db, later)) >= 1); // with the earlier tests' sessions nobody ended
    const states = async (id: string) => (await db.operation.findUniqueOrThrow({ where: { id }, include: { hostOperations: true } }));
    const d = await states(dead.operationId);
    assert.equal(d.state, 'failed');
    assert.match(d.error ?? '', /hub holding this console session stopped/);
    assert.ok(d.reapedAt && d.hostOperations[0]?.completedAt);
    assert.equal((await states(live.operationId)).state, 'assigned');
    assert.equal((await states(fresh.operationId)).state, 'assigned');
    assert.equal(await failOrphanedSessions(db, later), 0, 'once only');
  });

  test('retention deletes used tickets and tickets a day past their expiry; a valid unused one stays', async () => {
    const db = database.db;
    const used = await mint(alice);
    await redeemTicket(db, used.ticket, alice);
    const valid = await mint(alice);
    const stale = await mint(alice);
    await db.consoleTicket.updateMany({ where: { operationId: stale.operationId }, data: { expiresAt: new Date(Date.now() - 25 * 3600 * 1000) } });
    const pruned = await pruneOldRows(db, { readsMs: 3600_000, reconciliationsMs: 3600_000 });
    assert.ok(pruned.consoleTickets >= 2, `pruned ${pruned.consoleTickets}`);
    const left = new Set((await db.consoleTicket.findMany({ select: { operationId: true } })).map((t) => t.operationId));
    assert.ok(!left.has(used.operationId) && !left.has(stale.operationId));
    assert.ok(left.has(valid.operationId));
    assert.equal(await db.consoleTicket.count({ where: { usedAt: { not: null } } }), 0);
    assert.ok(await db.operation.findUnique({ where: { id: used.operationId } }), 'the session record (its operation) stays');
  });
});
