// How an async create ends. `spoke.completeOperation` (the owner's report) and the reaper (a create past its
// deadline) both end it through `applyCompletion`. The owner's report is idempotent: the same report again
// is acknowledged and changes nothing; a different report for an operation the owner already reported is
// refused. A late report from the owner does win over the reaper's verdict: the owner knows.
import { TRPCError } from '@trpc/server';
import type { CompleteInput, CompletionResult } from '~/contract/hub';
import { log } from '~/lib/log';
import type { Db } from '../db/client';
import { capsulChanged } from '../events';
import { countOperation } from '../metrics';
import { changeKind } from '~/contract/change';
import { applyChangeCompletion } from './change-complete';
import { removeConflictedVm } from './conflict';
import { endableBy, recordReport } from './record';

function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.entries(value).filter(([, v]) => v !== undefined).sort(([a], [b]) => (a < b ? -1 : 1));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonical(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

function capsulAfter(result: CompletionResult) {
  return result.ok
    ? { state: result.state, ipv4: result.ipv4 ?? null, ipv6: result.ipv6 ?? null, error: null, step: null }
    : { state: 'failed' as const, error: result.error, step: null };
}

/**
 * Ends an assigned create with a result; false when it had ended already (and this may not override). A
 * create that ended in a conflict keeps its state and its error: the report is recorded, and a VM the owner
 * built regardless is removed.
 */
export async function applyCompletion(
  db: Db,
  op: { id: string; hostId: string; capsulId: string | null },
  result: CompletionResult,
  by: 'owner' | 'reaper',
): Promise<boolean> {
  const applied = await db.$transaction(async (tx) => {
    const now = new Date();
    // The gate: of two reports at once, one changes this row.
    const moved = await tx.operation.updateMany({
      where: { id: op.id, hostId: op.hostId, state: { in: ['assigned', 'conflict', 'failed'] }, ...endableBy(by) },
      data: { completedAt: now, reapedAt: by === 'reaper' ? now : null },
    });
    if (moved.count === 0) return undefined;
    const { state } = await tx.operation.findUniqueOrThrow({ where: { id: op.id }, select: { state: true } });
    const conflicted = state === 'conflict';
    if (!conflicted) await tx.operation.update({ where: { id: op.id }, data: { state: result.ok ? 'completed' : 'failed', error: result.ok ? null : result.error } });
    await recordReport(tx, op, result, now);
    const capsul = op.capsulId && !conflicted ? await tx.capsul.update({ where: { id: op.capsulId }, data: capsulAfter(result), select: { id: true, ownerId: true } }) : null;
    return { conflicted, capsul };
  });
  if (!applied) return false;
  if (applied.capsul) capsulChanged(applied.capsul);
  countOperation('create', result.ok ? 'completed' : 'failed');
  log.info('create completed', {
    operationId: op.id,
    hostId: op.hostId,
    by,
    ok: result.ok,
    ...(result.ok ? { state: result.state, ipv4: result.ipv4 } : { error: result.error }),
  });
  if (applied.conflicted && result.ok && op.capsulId) removeConflictedVm(db, op.capsulId, op.hostId, log.child({ operationId: op.id }));
  return true;
}

/** A create's, or a change's (change-complete.ts): the async operations a host reports the end of. */
export async function completeOperation(db: Db, hostId: string, { operationId, result }: CompleteInput) {
  const offer = await db.hostOperation.findUnique({
    where: { operationId_hostId: { operationId, hostId } },
    select: { operation: { select: { hostId: true, capsulId: true, kind: true } } },
  });
  const kind = offer?.operation.kind;
  const change = changeKind.safeParse(kind);
  if (!offer || (kind !== 'create' && !change.success)) {
    throw new TRPCError({ code: 'NOT_FOUND', message: `operation ${operationId} was not offered to host ${hostId}` });
  }
  if (offer.operation.hostId !== hostId) {
    throw new TRPCError({ code: 'FORBIDDEN', message: `operation ${operationId} is not assigned to host ${hostId}` });
  }
  const { capsulId } = offer.operation;
  const applied = change.success
    ? await applyChangeCompletion(db, { id: operationId, hostId, capsulId: capsulId!, kind: change.data }, result, 'owner')
    : await applyCompletion(db, { id: operationId, hostId, capsulId }, result, 'owner');
  if (applied) return { acknowledged: true as const };
  const current = await db.hostOperation.findUnique({ where: { operationId_hostId: { operationId, hostId } }, select: { result: true } });
  if (canonical(current?.result) === canonical(result)) return { acknowledged: true as const }; // a repeat
  log.warn('a different completion for a finished operation was refused', { operationId, hostId });
  throw new TRPCError({ code: 'CONFLICT', message: `operation ${operationId} already completed with a different result` });
}
