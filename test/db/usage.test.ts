// Usage history on PGlite and on PostgreSQL: a spoke's batch is stored whole or refused whole (a point ahead
// of the clock, a capsul of another host, a capsul named twice); raw points are rolled up into 5-minute and
// hourly averages weighted by the seconds each covers; a stretch with no points (a spoke restart) stays a gap
// in every step and every graph, not a zero; late points are folded into the buckets they belong to; each
// step is pruned after its window; the fleet's series sums its hosts.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { TRPCError } from '@trpc/server';
import type { CapsulUsage, UsagePoint } from '~/contract/usage';
import { ingestUsage } from '~/hub/usage/ingest';
import { pruneUsage, usageWindows } from '~/hub/usage/retention';
import { rollUp } from '~/hub/usage/rollups';
import { capsulColumns, hostColumns } from '~/hub/usage/series';
import { hashToken, newToken } from '~/lib/tokens';
import { openTestDatabase, type TestDb } from '../support/hub-db';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
const A = 'capsul-usagea0001';
const B = 'capsul-usageb0001';
const C = 'capsul-usagec0001';
const host = { cpuPercent: 10, memoryUsedBytes: 4e9, memoryTotalBytes: 16e9, diskUsedBytes: 1e11, diskTotalBytes: 1e12 };
const usage = (cpuPercent: number) => ({ cpuPercent, memoryBytes: 1e8, netInBps: 1000, netOutBps: 2000, diskReadBps: 0, diskWriteBps: 512 });
const rates = (id: string, cpuPercent: number): CapsulUsage => ({ id, ...usage(cpuPercent) });
const floorTo = (ms: number, step: number) => Math.floor(ms / step) * step;
const close = (actual: number | null | undefined, expected: number, what: string) => assert.ok(actual != null && Math.abs(actual - expected) < 1e-3 * Math.max(1, expected), `${what}: ${actual} ≈ ${expected}`);

async function refusal(work: Promise<unknown>, code: string, message: RegExp) {
  await assert.rejects(work, (err: unknown) => {
    assert.ok(err instanceof TRPCError, String(err));
    assert.equal(err.code, code);
    assert.match(err.message, message);
    return true;
  });
}

for (const kind of ['pglite', 'postgresql'] as const) {
  describe(`usage history on ${kind}`, () => {
    let database: TestDb;
    const counts = async () => ({ capsul: await database.db.capsulUsage.count(), host: await database.db.hostUsage.count() });
    /** Raw rows written directly (the ingest takes only recent points): `at` is each interval's end. */
    const raw = (capsulId: string, at: number, cpuPercent: number, seconds = 15) => ({ capsulId, step: 0, at: new Date(at), seconds, ...usage(cpuPercent) });

    before(async () => {
      database = await openTestDatabase(kind);
      const db = database.db;
      await db.host.createMany({ data: ['h1', 'h2'].map((id) => ({ id, httpsUrl: `https://${id}.test:8443`, tokenHash: hashToken(newToken()) })) });
      const owner = await db.account.create({ data: { email: `usage-${kind}@example.com` } });
      for (const [id, hostId] of [[A, 'h1'], [B, 'h2'], [C, 'h1']] as const) {
        await db.capsul.create({ data: { id, name: id, ownerId: owner.id, hostId, vcpus: 1, memoryMb: 512, diskGb: 10, image: 'debian-12', state: 'running' } });
      }
    });
    after(() => database?.drop());

    test('a batch is refused whole, nothing stored: a point ahead of the clock, a capsul of another host, a capsul named twice', async () => {
      const now = new Date();
      const point = (at: number, capsuls: CapsulUsage[]): UsagePoint => ({ at: new Date(at), seconds: 15, host, capsuls });
      const before = await counts();
      await refusal(ingestUsage(database.db, 'h1', { points: [point(now.getTime() - 15_000, [rates(A, 5)]), point(now.getTime() + 10 * MINUTE, [rates(A, 5)])] }, now), 'BAD_REQUEST', /ahead of the hub's clock/);
      await refusal(ingestUsage(database.db, 'h1', { points: [point(now.getTime(), [rates(A, 5), rates(B, 5)])] }, now), 'FORBIDDEN', new RegExp(`not capsuls of host h1: ${B}; nothing stored`));
      await refusal(ingestUsage(database.db, 'h1', { points: [point(now.getTime(), [rates('capsul-nosuch0001', 5)])] }, now), 'FORBIDDEN', /capsul-nosuch0001/);
      await refusal(ingestUsage(database.db, 'h1', { points: [point(now.getTime(), [rates(A, 5), rates(A, 6)])] }, now), 'BAD_REQUEST', /names a capsul twice/);
      assert.deepEqual(await counts(), before);
    });

    test('a good batch is stored once, even sent twice; points older than the rollups look back are left out; committed room comes from the database', async () => {
      const now = new Date();
      const batch = {
        points: [
          { at: new Date(now.getTime() - 30 * MINUTE), seconds: 15, host, capsuls: [rates(A, 1)] },
          { at: new Date(now.getTime() - 15_000), seconds: 15, host, capsuls: [rates(A, 7), rates(C, 8)] },
          { at: now, seconds: 15, host, capsuls: [rates(A, 9), rates(C, 10)] },
        ],
      };
      const before = await counts();
      assert.deepEqual(await ingestUsage(database.db, 'h1', batch, now), { stored: 4 });
      assert.deepEqual(await ingestUsage(database.db, 'h1', batch, now), { stored: 0 }, 'the same batch again stores nothing');
      assert.deepEqual(await counts(), { capsul: before.capsul + 4, host: before.host + 2 });
      const row = await database.db.hostUsage.findFirstOrThrow({ where: { hostId: 'h1', at: now } });
      close(row.memoryCommittedBytes, 2 * 512 * 1024 * 1024, 'A and C, 512 MiB each (a real: 7 digits)');
      close(row.diskCommittedBytes, 2 * 10 * 1024 ** 3, 'disk committed');
      close(row.memoryTotalBytes, 16e9, 'memory total, as measured');
      await database.db.capsulUsage.deleteMany({});
      await database.db.hostUsage.deleteMany({});
    });

    test('rollups: weighted 5-minute and hourly averages, a gap stays a gap, a late point is folded in, a second round changes nothing', async () => {
      const db = database.db;
      const now = new Date(floorTo(Date.now(), HOUR) + 40 * MINUTE);
      const t0 = floorTo(now.getTime(), HOUR) - HOUR; // the previous hour
      // Bucket 1 (t0 … t0+5m): 19 points of 20 % over 15 s each, and one of 100 % over 45 s: 10200 / 330.
      const rows = [...Array.from({ length: 19 }, (_, k) => raw(A, t0 + k * 15_000, 20)), raw(A, t0 + 19 * 15_000, 100, 45)];
      // Bucket 2: nothing (the spoke was down). Bucket 3: 50 %, 20 points.
      rows.push(...Array.from({ length: 20 }, (_, k) => raw(A, t0 + 10 * MINUTE + k * 15_000, 50)));
      await db.capsulUsage.createMany({ data: rows });

      const written = await rollUp(db, now);
      assert.ok(written[300]! >= 2 && written[3600]! >= 1, JSON.stringify(written));
      const fives = await db.capsulUsage.findMany({ where: { capsulId: A, step: 300 }, orderBy: { at: 'asc' } });
      assert.deepEqual(fives.map((r) => r.at.getTime()), [t0, t0 + 10 * MINUTE], 'no bucket where no point was: the gap is not a zero');
      close(fives[0]!.cpuPercent, 10200 / 330, 'bucket 1, weighted by seconds');
      close(fives[0]!.seconds, 330, 'bucket 1 seconds');
      close(fives[1]!.cpuPercent, 50, 'bucket 3');
      const hour = await db.capsulUsage.findFirstOrThrow({ where: { capsulId: A, step: 3600 } });
      assert.equal(hour.at.getTime(), t0);
      close(hour.cpuPercent, (10200 + 50 * 300) / 630, 'the hour, weighted by the seconds of each 5-minute bucket');
      close(hour.netOutBps, 2000, 'a constant rate averages to itself');

      // The graphs: the day (raw, in 5-minute steps) has null where no point was; the month (5-minute, hourly) has the hour.
      const day = await capsulColumns(db, A, 'day', now);
      const at = (t: number) => day.at.indexOf(t / 1000);
      close(day.values.cpuPercent[at(t0)], 10200 / 330, 'day view, bucket 1');
      assert.equal(day.values.cpuPercent[at(t0 + 5 * MINUTE)], null, 'day view: the gap is null');
      close(day.values.cpuPercent[at(t0 + 10 * MINUTE)], 50, 'day view, bucket 3');
      assert.equal(day.at.length, 288, 'a day of 5-minute steps');
      const month = await capsulColumns(db, A, 'month', now);
      close(month.values.cpuPercent[month.at.indexOf(t0 / 1000)], (10200 + 50 * 300) / 630, 'month view');
      assert.equal(month.values.cpuPercent.filter((v) => v !== null).length, 1);

      // A late point (a spoke's backlog) in a bucket already made is folded in by the next round.
      const lateBucket = floorTo(now.getTime(), 300_000) - 10 * MINUTE;
      await db.capsulUsage.createMany({ data: [raw(A, lateBucket + 60_000, 80)] });
      await rollUp(db, now);
      await db.capsulUsage.createMany({ data: [raw(A, lateBucket + 75_000, 40)] });
      await rollUp(db, now);
      close((await db.capsulUsage.findUniqueOrThrow({ where: { capsulId_step_at: { capsulId: A, step: 300, at: new Date(lateBucket) } } })).cpuPercent, 60, 'the late point averaged in');

      const again = await db.capsulUsage.findMany({ where: { capsulId: A, step: { gt: 0 } }, orderBy: [{ step: 'asc' }, { at: 'asc' }] });
      await rollUp(db, now);
      assert.deepEqual(await db.capsulUsage.findMany({ where: { capsulId: A, step: { gt: 0 } }, orderBy: [{ step: 'asc' }, { at: 'asc' }] }), again, 'a second round changes nothing');
    });

    test('the last hour is the raw points at their own times, with a null where a restart left a gap', async () => {
      const db = database.db;
      const now = new Date();
      const t = now.getTime() - 20 * MINUTE;
      // Points every 15 s, then the spoke is down 2 minutes: its first sample after gives no point, the next covers 15 s.
      const times = [t, t + 15_000, t + 30_000, t + 30_000 + 2 * MINUTE + 30_000, t + 30_000 + 2 * MINUTE + 45_000];
      await db.capsulUsage.createMany({ data: times.map((at, i) => raw(C, at, i * 10)) });
      const hour = await capsulColumns(db, C, 'hour', now);
      assert.deepEqual(hour.values.cpuPercent, [0, 10, 20, null, 30, 40]);
      assert.deepEqual(hour.at.filter((_, i) => i !== 3), times.map((x) => x / 1000));
      assert.ok(hour.at[3]! > times[2]! / 1000 && hour.at[3]! < times[3]! / 1000, 'the gap sits between the points around it');
    });

    test("the fleet's series sums its hosts per step (CPU: their mean)", async () => {
      const db = database.db;
      const now = new Date();
      const minute = floorTo(now.getTime(), MINUTE) - 5 * MINUTE;
      const hostRow = (hostId: string, cpuPercent: number, memoryUsedBytes: number) => ({
        hostId, step: 0, at: new Date(minute + 20_000), seconds: 15, cpuPercent, memoryUsedBytes, memoryTotalBytes: 8e9, memoryCommittedBytes: 1e9, diskUsedBytes: 1, diskTotalBytes: 2, diskCommittedBytes: 1,
      });
      await db.hostUsage.createMany({ data: [hostRow('h1', 20, 1e9), hostRow('h2', 60, 3e9)] });
      const fleet = await hostColumns(db, null, 'hour', now);
      const i = fleet.at.indexOf(minute / 1000);
      close(fleet.values.memoryUsedBytes[i], 4e9, 'memory used, summed');
      close(fleet.values.memoryTotalBytes[i], 16e9, 'memory total, summed');
      close(fleet.values.cpuPercent[i], 40, 'CPU, the mean');
      close((await hostColumns(db, 'h2', 'hour', now)).values.cpuPercent[i], 60, 'one host');
      assert.equal(fleet.values.cpuPercent[i - 1], null, 'a minute with no point is null');
    });

    test('retention: each step goes after its window, in both tables; what is younger stays', async () => {
      const db = database.db;
      const now = new Date();
      const windows = usageWindows({ USAGE_RAW_HOURS: 24, USAGE_FIVE_MINUTE_DAYS: 30, USAGE_HOURLY_DAYS: 365 });
      const ages: [number, number, boolean][] = [[0, 25 * HOUR, false], [0, 23 * HOUR, true], [300, 31 * DAY, false], [300, 29 * DAY, true], [3600, 366 * DAY, false], [3600, 364 * DAY, true]];
      await db.capsulUsage.deleteMany({});
      await db.hostUsage.deleteMany({});
      for (const [step, age] of ages) {
        const at = new Date(now.getTime() - age);
        await db.capsulUsage.create({ data: { capsulId: B, step, at, seconds: 15, ...usage(1) } });
        await db.hostUsage.create({ data: { hostId: 'h2', step, at, seconds: 15, ...host, memoryCommittedBytes: 0, diskCommittedBytes: 0 } });
      }
      assert.equal(await pruneUsage(db, windows, now), 6);
      const left = (await db.capsulUsage.findMany({ orderBy: [{ step: 'asc' }] })).map((r) => [r.step, Math.round((now.getTime() - r.at.getTime()) / HOUR)]);
      assert.deepEqual(left, ages.filter(([, , keep]) => keep).map(([s, a]) => [s, a / HOUR]));
      assert.equal(await db.hostUsage.count(), 3);
      assert.equal(await pruneUsage(db, windows, now), 0, 'a second run deletes nothing more');
    });
  });
}
