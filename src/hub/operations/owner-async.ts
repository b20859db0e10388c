// Owner-directed async operations (PROTOCOL.md v1.1): resize, snapshots, rebuild. One path for all of them:
// - the operation (pending, owned by the capsul's host from the start) and whatever the change needs written
//   first (a snapshot's row) in one transaction; the unique index Operation_one_change_per_capsul refuses a
//   second change while one is open, so two hubs cannot both start one;
// - offered to the owner only (`change`), which answers `assigned` (it has started) or `not_applicable` with
//   the reason, at once: the caller learns either;
// - ended by the owner's report through its outbox (change-complete.ts), or by the reaper for its silence.
import { randomUUID } from 'node:crypto';
import { TRPCError } from '@trpc/server';
import { changeOutput, type CapsulChange, type ChangeInput } from '~/contract/change';
import { env } from '~/env';
import type { Prisma } from '~/generated/prisma/client';
import { log } from '~/lib/log';
import type { Db } from '../db/client';
import { violatesUnique } from '../db/unique-violation';
import { capsulChanged } from '../events';
import { countOperation } from '../metrics';
import { callHost } from './fan-out';
import { findCapsul, hostFailed, ownerOf, type Scope } from './owner';
import { json, type Actor } from './record';
import { changeRunning, runningChange } from './running-change';

type Tx = Prisma.TransactionClient;

export type ChangeRequest = {
  capsulId: string;
  scope: Scope;
  change: CapsulChange;
  /** Kept with the operation beside what the host is sent (a resize's sizes, for metering). */
  record?: Record<string, unknown>;
  /** Written with the operation, in its transaction (after it, so the one-change index has decided). */
  alsoWrite?: (tx: Tx, operationId: string) => Promise<void>;
  /** Undoes `alsoWrite` when the change does not start (a late report from the owner writes it again). */
  undo?: (db: Db) => Promise<unknown>;
};

/** Capsuls in these states have a VM on their host to change. */
const CHANGEABLE = new Set(['running', 'stopped', 'paused', 'shutting_down', 'crashed']);

export async function startChange(db: Db, actor: Actor, request: ChangeRequest) {
  const { change } = request;
  const capsul = await findCapsul(db, request.capsulId, request.scope);
  if (!CHANGEABLE.has(capsul.state)) {
    throw new TRPCError({ code: 'PRECONDITION_FAILED', message: `capsul ${capsul.id} is ${capsul.state}: it can be changed once it is running or stopped` });
  }
  const host = ownerOf(capsul);
  const operationId = randomUUID();
  const payload: ChangeInput = { operationId, id: capsul.id, change };
  const opLog = log.child({ operationId, capsulId: capsul.id, change: change.kind });

  try {
    await db.$transaction(async (tx) => {
      await tx.operation.create({
        data: {
          id: operationId,
          kind: change.kind,
          actor,
          payload: json({ ...payload, ...request.record }),
          capsulId: capsul.id,
          hostId: host.id,
          hostOperations: { create: { hostId: host.id } },
        },
      });
      await request.alsoWrite?.(tx, operationId);
    });
  } catch (err) {
    // A change is open on this capsul already: the index refused this one; say which it is.
    if (!violatesUnique(err, 'Operation_one_change_per_capsul')) throw err;
    const other = await runningChange(db, capsul.id);
    throw other ? changeRunning(other, 'another change') : new TRPCError({ code: 'CONFLICT', message: 'another change to this capsul started just now; try again when it ends' });
  }
  capsulChanged(capsul);

  const outcome = await callHost(host, { procedure: 'change', deadlineMs: env().SPOKE_CALL_TIMEOUT_MS, operationId }, (s, o) => s.change.mutate(payload, o), changeOutput);
  const now = new Date();
  if (outcome.ok && outcome.value.assignmentStatus === 'assigned') {
    await db.$transaction([
      db.operation.updateMany({ where: { id: operationId, state: 'pending' }, data: { state: 'assigned' } }),
      db.hostOperation.update({ where: { operationId_hostId: { operationId, hostId: host.id } }, data: { assignmentStatus: 'assigned', assignedAt: now } }),
    ]);
    countOperation(change.kind, 'assigned');
    opLog.info('change assigned', { hostId: host.id });
    capsulChanged(capsul);
    return { operationId, capsulId: capsul.id, hostId: host.id };
  }

  // Turned down, or no answer. Without an answer the owner may have started it: the operation fails now
  // with that said, and marked as the hub's verdict, so the owner's report (if one comes) replaces it.
  const refused = outcome.ok;
  const reason = outcome.ok ? (outcome.value.reason ?? 'the host gave no reason') : outcome.reason;
  const error = refused ? `${host.id} cannot do it: ${reason}` : `${host.id} did not answer (${reason}); if it started, its report will still be recorded`;
  await db.$transaction([
    db.operation.update({ where: { id: operationId }, data: { state: 'failed', error, completedAt: now, reapedAt: refused ? null : now } }),
    db.hostOperation.update({
      where: { operationId_hostId: { operationId, hostId: host.id } },
      data: { assignmentStatus: outcome.ok ? 'not_applicable' : outcome.status, reason, completedAt: now },
    }),
  ]);
  await request.undo?.(db);
  countOperation(change.kind, 'failed');
  opLog.warn('change not started', { hostId: host.id, reason });
  capsulChanged(capsul);
  if (refused) throw new TRPCError({ code: 'PRECONDITION_FAILED', message: `${host.id} cannot do it now: ${reason}` });
  throw hostFailed(outcome);
}
