// Retention on PGlite and on PostgreSQL: with a short window, old successful reads (and their host rows),
// expired sessions, spent sign-in links and old drift reports go; recent rows, every capsul's lifecycle, every
// operation that did not complete and the newest drift report stay; a second run deletes nothing more.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import type { Prisma } from '~/generated/prisma/client';
import { pruneOldRows } from '~/hub/operations/retention';
import { hashToken, newToken } from '~/lib/tokens';
import { openTestDatabase, type TestDb } from '../support/hub-db';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
const windows = { readsMs: HOUR, reconciliationsMs: 7 * DAY };

for (const kind of ['pglite', 'postgresql'] as const) {
  describe(`retention on ${kind}`, () => {
    let database: TestDb;
    const now = new Date();
    const ago = (ms: number) => new Date(now.getTime() - ms);
    const kept = new Set<string>();
    const pruned = new Set<string>();

    async function operation(o: { kind: Prisma.OperationCreateInput['kind']; state: Prisma.OperationCreateInput['state']; age: number; capsulId?: string }) {
      const { id } = await database.db.operation.create({
        data: {
          kind: o.kind,
          state: o.state,
          actor: 'test',
          payload: {},
          createdAt: ago(o.age),
          capsulId: o.capsulId,
          hostOperations: { createMany: { data: ['h1', 'h2'].map((hostId) => ({ hostId, assignmentStatus: 'assigned' as const })) } },
        },
      });
      return id;
    }

    before(async () => {
      database = await openTestDatabase(kind);
      const db = database.db;
      await db.host.createMany({ data: ['h1', 'h2'].map((id) => ({ id, httpsUrl: `https://${id}.test:8443`, tokenHash: hashToken(newToken()) })) });
      const owner = await db.account.create({ data: { email: 'retention@example.com' } });
      const capsulId = 'capsul-retain0001';
      await db.capsul.create({ data: { id: capsulId, name: capsulId, ownerId: owner.id, vcpus: 1, memoryMb: 512, diskGb: 10, image: 'debian-12', state: 'deleted' } });

      // A capsul's whole life, long ago: kept, all of it. The reads around it go.
      for (const k of ['create', 'vmState', 'vmState', 'destroy'] as const) kept.add(await operation({ kind: k, state: 'completed', age: 30 * DAY, capsulId }));
      for (const k of ['get', 'get'] as const) pruned.add(await operation({ kind: k, state: 'completed', age: 30 * DAY, capsulId }));
      // Old reads, more than one batch of them.
      for (let i = 0; i < 25; i++) pruned.add(await operation({ kind: i % 2 ? 'list' : 'capacityAvailable', state: 'completed', age: 2 * HOUR + i * MINUTE }));
      // Every operation that did not complete stays, however old, reads included.
      for (const k of ['list', 'capacityAvailable', 'get', 'create', 'destroy', 'vmState'] as const) kept.add(await operation({ kind: k, state: 'failed', age: 30 * DAY }));
      kept.add(await operation({ kind: 'create', state: 'conflict', age: 30 * DAY }));
      kept.add(await operation({ kind: 'get', state: 'pending', age: 30 * DAY }));
      // Recent reads stay.
      for (const k of ['list', 'capacityAvailable', 'get'] as const) kept.add(await operation({ kind: k, state: 'completed', age: 10 * MINUTE }));

      await db.session.createMany({
        data: [
          { id: 'expired', accountId: owner.id, expiresAt: ago(MINUTE) },
          { id: 'live', accountId: owner.id, expiresAt: new Date(now.getTime() + DAY) },
        ],
      });
      const link = (id: string, createdAgo: number, used: boolean) => ({
        id, tokenHash: hashToken(id), email: owner.email, clientAddress: '192.0.2.1', createdAt: ago(createdAgo), expiresAt: ago(createdAgo - 15 * MINUTE), usedAt: used ? ago(createdAgo - MINUTE) : null,
      });
      await db.loginToken.createMany({
        data: [
          link(randomUUID(), 20 * MINUTE, true), // spent, outside the rate window: goes
          link(randomUUID(), 20 * MINUTE, false), // expired unused, outside the window: goes
          link('used-recently', 5 * MINUTE, true), // used, but still counted by the rate limit
          link('fresh', MINUTE, false), // still valid
        ],
      });
      const report = (id: string, age: number) => ({ id, actor: 'system', startedAt: ago(age), finishedAt: ago(age), answered: [], failed: [], missing: [], unknown: [], stateDiffers: [], findings: 0 });
      await db.reconciliation.createMany({ data: [report('r-40d', 40 * DAY), report('r-30d', 30 * DAY), report('r-20d', 20 * DAY)] });
    });
    after(async () => database?.drop());

    test('old successful reads go with their host rows; lifecycles, failures and recent rows stay', async () => {
      const db = database.db;
      const result = await pruneOldRows(db, windows, { now, batchSize: 10 });
      assert.deepEqual(result, { reads: pruned.size, sessions: 1, loginTokens: 2, consoleTickets: 0, reconciliations: 2 });

      const left = new Set((await db.operation.findMany({ select: { id: true } })).map((o) => o.id));
      assert.deepEqual(left, kept);
      const hostRowsLeft = new Set((await db.hostOperation.findMany({ select: { operationId: true } })).map((h) => h.operationId));
      assert.deepEqual(hostRowsLeft, kept, 'host rows went with their operations, and only with them');
      const lifecycle = await db.operation.findMany({ where: { capsulId: 'capsul-retain0001' }, orderBy: { kind: 'asc' }, select: { kind: true } });
      assert.deepEqual(lifecycle.map((o) => o.kind).sort(), ['create', 'destroy', 'vmState', 'vmState']);

      assert.deepEqual((await db.session.findMany()).map((s) => s.id), ['live']);
      assert.deepEqual((await db.loginToken.findMany({ orderBy: { createdAt: 'asc' } })).map((t) => t.id), ['used-recently', 'fresh']);
      assert.deepEqual((await db.reconciliation.findMany()).map((r) => r.id), ['r-20d'], 'the newest old report stays for the drift page');
    });

    test('a second run deletes nothing more', async () => {
      const counts = async () => [
        await database.db.operation.count(), await database.db.hostOperation.count(), await database.db.session.count(),
        await database.db.loginToken.count(), await database.db.reconciliation.count(),
      ];
      const before = await counts();
      assert.deepEqual(await pruneOldRows(database.db, windows, { now, batchSize: 10 }), { reads: 0, sessions: 0, loginTokens: 0, consoleTickets: 0, reconciliations: 0 });
      assert.deepEqual(await counts(), before);
    });

    test('once a newer drift report exists, the old newest one goes too', async () => {
      await database.db.reconciliation.create({ data: { id: 'r-now', actor: 'system', startedAt: now, finishedAt: now, answered: [], failed: [], missing: [], unknown: [], stateDiffers: [], findings: 0 } });
      assert.equal((await pruneOldRows(database.db, windows, { now })).reconciliations, 1);
      assert.deepEqual((await database.db.reconciliation.findMany()).map((r) => r.id), ['r-now']);
    });
  });
}
