// How a change (resize, snapshots, rebuild) ends: the owner's report (`spoke.completeOperation`, through its
// outbox) or the reaper's verdict for its silence. As for creates (complete.ts), one report changes the rows,
// the same report again changes nothing, and the owner's report wins over the reaper's verdict.
//
// The capsul follows what the host says: its state and address after the change, its size after a resize,
// its image after a rebuild, and its snapshots: those the host still has, with their bytes; the others are
// gone (a revert removes the ones taken after it, a rebuild all of them).
import { capsulChange, snapshotName, type ChangeKind } from '~/contract/change';
import type { CompletionResult } from '~/contract/hub';
import { log } from '~/lib/log';
import type { Prisma } from '~/generated/prisma/client';
import type { Db } from '../db/client';
import { violatesUnique } from '../db/unique-violation';
import { capsulChanged } from '../events';
import { countOperation } from '../metrics';
import { endableBy, recordReport } from './record';


/** What the hub kept beside a change's payload (owner-async.ts `record`). */
type Recorded = { change: unknown; sizeId?: string | null; name?: string; note?: string | null };

export async function applyChangeCompletion(
  db: Db,
  op: { id: string; hostId: string; capsulId: string; kind: ChangeKind },
  result: CompletionResult,
  by: 'owner' | 'reaper',
): Promise<boolean> {
  const applied = await db.$transaction(async (tx) => {
    const now = new Date();
    // The gate: of two reports at once, one changes this row.
    const moved = await tx.operation.updateMany({
      where: { id: op.id, hostId: op.hostId, state: { in: ['pending', 'assigned', 'failed'] }, ...endableBy(by) },
      data: { completedAt: now, reapedAt: by === 'reaper' ? now : null, state: result.ok ? 'completed' : 'failed', error: result.ok ? null : result.error },
    });
    if (moved.count === 0) return undefined;
    await recordReport(tx, op, result, now);
    const { payload } = await tx.operation.findUniqueOrThrow({ where: { id: op.id }, select: { payload: true } });
    const recorded = payload as Recorded;
    const change = capsulChange.parse(recorded.change);
    const capsul = await tx.capsul.update({ where: { id: op.capsulId }, data: capsulAfter(change, recorded, result), select: { id: true, ownerId: true } });
    if (result.ok && change.kind === 'snapshotCreate') await keepSnapshot(tx, op.capsulId, change.snapshotId, op.id, recorded, now);
    if (result.snapshots) await followSnapshots(tx, op.capsulId, result.snapshots, now);
    else if (!result.ok && change.kind === 'snapshotCreate') {
      await tx.snapshot.updateMany({ where: { id: change.snapshotId, state: 'taking' }, data: { deletedAt: now } });
    }
    return capsul;
  });
  if (!applied) return false;
  capsulChanged(applied);
  countOperation(op.kind, result.ok ? 'completed' : 'failed');
  log.info('change completed', { operationId: op.id, hostId: op.hostId, kind: op.kind, by, ok: result.ok, ...(result.ok ? { state: result.state, pausedMs: result.pausedMs } : { error: result.error }) });
  return true;
}

function capsulAfter(change: ReturnType<typeof capsulChange.parse>, recorded: Recorded, result: CompletionResult) {
  const address = result.ok ? { ipv4: result.ipv4 ?? null, ipv6: result.ipv6 ?? null } : {};
  const state = result.state ? { state: result.state } : {};
  if (!result.ok) return state;
  switch (change.kind) {
    case 'resize':
      return { ...state, ...address, vcpus: change.vcpus, memoryMb: change.memoryMb, diskGb: change.diskGb, sizeId: recorded.sizeId ?? null, error: null };
    case 'rebuild':
      return { ...state, ...address, image: change.image, diskGb: change.diskGb, error: null };
    default:
      return { ...state, ...address };
  }
}

/** The snapshot a snapshotCreate took: its row made ready (and made again if a late report finds it gone). */
async function keepSnapshot(tx: Prisma.TransactionClient, capsulId: string, id: string, operationId: string, recorded: Recorded, now: Date) {
  const name = snapshotName.safeParse(recorded.name).success ? recorded.name! : id;
  const row = { capsulId, name, note: recorded.note ?? null, operationId, state: 'ready' as const, takenAt: now, deletedAt: null };
  try {
    await tx.$executeRaw`SAVEPOINT keep_snapshot`;
    await tx.snapshot.upsert({ where: { id }, create: { id, ...row }, update: { state: 'ready', takenAt: now, deletedAt: null } });
  } catch (err) {
    // Its name was given to another snapshot meanwhile: it keeps its id as its name.
    if (!violatesUnique(err, 'Snapshot_capsulId_name_key')) throw err;
    await tx.$executeRaw`ROLLBACK TO SAVEPOINT keep_snapshot`;
    await tx.snapshot.upsert({ where: { id }, create: { id, ...row, name: id }, update: { state: 'ready', takenAt: now, deletedAt: null, name: id } });
  }
}

/** The capsul's snapshots as its host has them: bytes from the host; rows it no longer has are deleted. */
async function followSnapshots(tx: Prisma.TransactionClient, capsulId: string, onHost: { id: string; bytes: number }[], now: Date) {
  const kept = new Set(onHost.map((s) => s.id));
  await tx.snapshot.updateMany({ where: { capsulId, deletedAt: null, id: { notIn: [...kept] } }, data: { deletedAt: now } });
  for (const s of onHost) await tx.snapshot.updateMany({ where: { id: s.id, capsulId, deletedAt: null }, data: { bytes: BigInt(s.bytes) } });
}
