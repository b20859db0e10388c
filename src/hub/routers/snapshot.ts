// Snapshots of a capsul: list, take, revert to, delete. Each change is an owner-directed async operation
// (operations/changes.ts); the list reads the database only.
import { z } from 'zod';
import { snapshotId, snapshotName, snapshotNote } from '~/contract/change';
import { capsulId } from '~/contract/ids';
import { env } from '~/env';
import { deleteSnapshot, revertToSnapshot, takeSnapshot } from '../operations/changes';
import { findCapsul } from '../operations/owner';
import { runningChange } from '../operations/running-change';
import { actorProcedure, router, scopeOf } from '../trpc';

const target = z.object({ capsulId, snapshotId });

export const snapshotRouter = router({
  /** The capsul's snapshots, newest first, with the disk they take, the limit, and the change running now. */
  list: actorProcedure.input(z.object({ capsulId })).query(async ({ ctx, input }) => {
    await findCapsul(ctx.db, input.capsulId, scopeOf(ctx.actor));
    const [rows, running] = await Promise.all([
      ctx.db.snapshot.findMany({
        where: { capsulId: input.capsulId, deletedAt: null },
        orderBy: { createdAt: 'desc' },
        select: { id: true, name: true, note: true, state: true, bytes: true, createdAt: true, takenAt: true },
      }),
      runningChange(ctx.db, input.capsulId),
    ]);
    const snapshots = rows.map(({ bytes, ...s }) => ({ ...s, bytes: bytes === null ? null : Number(bytes) }));
    return { snapshots, limit: env().SNAPSHOTS_PER_CAPSUL, totalBytes: snapshots.reduce((n, s) => n + (s.bytes ?? 0), 0), running };
  }),

  create: actorProcedure
    .input(z.object({ capsulId, name: snapshotName, note: snapshotNote.optional() }))
    .mutation(({ ctx, input }) => takeSnapshot(ctx.db, ctx.actor.label, input.capsulId, { name: input.name, note: input.note }, scopeOf(ctx.actor))),

  revert: actorProcedure
    .input(target)
    .mutation(({ ctx, input }) => revertToSnapshot(ctx.db, ctx.actor.label, input.capsulId, input.snapshotId, scopeOf(ctx.actor))),

  delete: actorProcedure
    .input(target)
    .mutation(({ ctx, input }) => deleteSnapshot(ctx.db, ctx.actor.label, input.capsulId, input.snapshotId, scopeOf(ctx.actor))),
});
