// The changes a member can make to a capsul, each checked here and then started on its owner host through
// the one owner-directed path (owner-async.ts): resize to a larger catalog size, snapshots (take, revert,
// delete), rebuild from an image.
import { TRPCError } from '@trpc/server';
import { shrinking } from '~/contract/change';
import { env } from '~/env';
import { randomId } from '~/lib/random-id';
import { fieldError } from '~/lib/trpc-errors';
import { checkCreateBalance } from '../billing/at-zero';
import type { Db } from '../db/client';
import { violatesUnique } from '../db/unique-violation';
import { findCapsul, type Scope } from './owner';
import { startChange } from './owner-async';
import type { Actor } from './record';

export function newSnapshotId(): string {
  return randomId('snap-');
}

/** Grows the capsul to a catalog size: vCPUs, memory and disk (a running capsul is stopped and started). */
export async function resizeCapsul(db: Db, actor: Actor, id: string, sizeId: string, scope: Scope) {
  const [capsul, size] = await Promise.all([findCapsul(db, id, scope), db.vmSize.findUnique({ where: { id: sizeId } })]);
  if (!size) throw fieldError('size', `there is no size "${sizeId}"; pick one of the sizes offered`);
  const smaller = shrinking(capsul, size);
  if (smaller) throw fieldError('size', `${size.name} is smaller than this capsul: ${smaller}`);
  if (size.vcpus === capsul.vcpus && size.memoryMb === capsul.memoryMb && size.diskGb === capsul.diskGb) {
    throw fieldError('size', `the capsul is ${size.name} already`);
  }
  // With billing on: enough balance for the first hours of the new size, as for a create.
  await checkCreateBalance(db, { accountId: capsul.ownerId, sizeId: size.id });
  return startChange(db, actor, {
    capsulId: id,
    scope,
    change: { kind: 'resize', vcpus: size.vcpus, memoryMb: size.memoryMb, diskGb: size.diskGb },
    record: { sizeId: size.id, fromSizeId: capsul.sizeId },
  });
}

export async function takeSnapshot(db: Db, actor: Actor, id: string, opts: { name: string; note?: string }, scope: Scope) {
  const snapshotId = newSnapshotId();
  const limit = env().SNAPSHOTS_PER_CAPSUL;
  return startChange(db, actor, {
    capsulId: id,
    scope,
    change: { kind: 'snapshotCreate', snapshotId },
    record: { name: opts.name, note: opts.note ?? null },
    // After the operation's row: the one-change index has let only this change through, so the count holds.
    alsoWrite: async (tx, operationId) => {
      const kept = await tx.snapshot.count({ where: { capsulId: id, deletedAt: null } });
      if (kept >= limit) throw fieldError('name', `this capsul keeps ${kept} snapshots, the most it may (SNAPSHOTS_PER_CAPSUL = ${limit}): delete one first`);
      await tx.snapshot.create({ data: { id: snapshotId, capsulId: id, name: opts.name, note: opts.note || null, operationId } }).catch((err: unknown) => {
        throw violatesUnique(err, 'Snapshot_capsulId_name_key') ? fieldError('name', `this capsul has a snapshot named "${opts.name}" already`) : err;
      });
    },
    undo: (d) => d.snapshot.updateMany({ where: { id: snapshotId, state: 'taking' }, data: { deletedAt: new Date() } }),
  }).then((started) => ({ ...started, snapshotId }));
}

/** The capsul's snapshot, or NOT_FOUND: the same answer for a snapshot of another capsul as for none. */
async function findSnapshot(db: Db, capsulId: string, snapshotId: string, scope: Scope) {
  await findCapsul(db, capsulId, scope);
  const snapshot = await db.snapshot.findFirst({ where: { id: snapshotId, capsulId, deletedAt: null } });
  if (!snapshot) throw new TRPCError({ code: 'NOT_FOUND', message: `capsul ${capsulId} has no snapshot ${snapshotId}` });
  if (snapshot.state !== 'ready') throw new TRPCError({ code: 'PRECONDITION_FAILED', message: `snapshot ${snapshot.name} is still being taken` });
  return snapshot;
}

/** The disk as it was at the snapshot; the snapshots taken after it are removed with what came after. */
export async function revertToSnapshot(db: Db, actor: Actor, capsulId: string, snapshotId: string, scope: Scope) {
  const snapshot = await findSnapshot(db, capsulId, snapshotId, scope);
  return startChange(db, actor, { capsulId, scope, change: { kind: 'snapshotRevert', snapshotId: snapshot.id }, record: { name: snapshot.name } });
}

export async function deleteSnapshot(db: Db, actor: Actor, capsulId: string, snapshotId: string, scope: Scope) {
  const snapshot = await findSnapshot(db, capsulId, snapshotId, scope);
  return startChange(db, actor, { capsulId, scope, change: { kind: 'snapshotDelete', snapshotId: snapshot.id }, record: { name: snapshot.name } });
}

export type RebuildRequest = {
  image: { id: string; file: string; kernel?: string | null; initrd?: string | null; cmdline?: string | null };
  sshAuthorizedKeys: string[];
  /** The capsul's name, typed by the person: everything on its disk is lost. */
  confirm: string;
};

/** A new disk from the image, with these keys; the same capsul id, domain and address. Its snapshots go. */
export async function rebuildCapsul(db: Db, actor: Actor, id: string, request: RebuildRequest, scope: Scope) {
  const capsul = await findCapsul(db, id, scope);
  if (request.confirm !== capsul.name) throw fieldError('confirm', `type the capsul's name, ${capsul.name}, to confirm: everything on its disk will be gone`);
  const { image } = request;
  return startChange(db, actor, {
    capsulId: id,
    scope,
    change: {
      kind: 'rebuild',
      image: image.id,
      imageFiles: { disk: image.file, kernel: image.kernel ?? undefined, initrd: image.initrd ?? undefined, cmdline: image.cmdline ?? undefined },
      diskGb: capsul.diskGb,
      sshAuthorizedKeys: request.sshAuthorizedKeys,
    },
  });
}
