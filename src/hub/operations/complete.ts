// `spoke.completeOperation`: the owner reports how an async create ended. Idempotent: the same report again
// is acknowledged and changes nothing; a different report for a finished operation is refused.
import { TRPCError } from '@trpc/server';
import type { CompleteInput, CompletionResult } from '~/contract/hub';
import { log } from '~/lib/log';
import type { Db } from '../db/client';
import { capsulChanged } from '../events';
import { json } from './record';

function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.entries(value).filter(([, v]) => v !== undefined).sort(([a], [b]) => (a < b ? -1 : 1));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonical(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

export async function completeOperation(db: Db, hostId: string, { operationId, result }: CompleteInput) {
  const opLog = log.child({ operationId, hostId });
  const offer = await db.hostOperation.findUnique({
    where: { operationId_hostId: { operationId, hostId } },
    select: { result: true, operation: { select: { state: true, hostId: true, capsulId: true, kind: true } } },
  });
  if (!offer || offer.operation.kind !== 'create') {
    throw new TRPCError({ code: 'NOT_FOUND', message: `operation ${operationId} was not offered to host ${hostId}` });
  }
  const op = offer.operation;
  if (op.hostId !== hostId) {
    throw new TRPCError({ code: 'FORBIDDEN', message: `operation ${operationId} is not assigned to host ${hostId}` });
  }

  const applied = await db.$transaction(async (tx) => {
    const now = new Date();
    const moved = await tx.operation.updateMany({
      where: { id: operationId, hostId, completedAt: null, state: { in: ['assigned', 'conflict'] } },
      data: result.ok ? { completedAt: now } : { completedAt: now, error: result.error },
    });
    if (moved.count === 0) return false;
    // A conflicted operation keeps its state for an admin to look at; the report is still recorded.
    await tx.operation.updateMany({
      where: { id: operationId, state: 'assigned' },
      data: { state: result.ok ? 'completed' : 'failed' },
    });
    await tx.hostOperation.update({
      where: { operationId_hostId: { operationId, hostId } },
      data: { result: json(result), completedAt: now },
    });
    if (op.capsulId && op.state !== 'conflict') {
      await tx.capsul.update({ where: { id: op.capsulId }, data: capsulAfter(result) });
    }
    return true;
  });
  if (applied) {
    capsulChanged(op.capsulId);
    opLog.info('create completed', { ok: result.ok, ...(result.ok ? { state: result.state, ipv4: result.ipv4 } : { error: result.error }) });
    return { acknowledged: true as const };
  }
  if (canonical(offer.result) === canonical(result)) return { acknowledged: true as const }; // a repeat
  const current = await db.hostOperation.findUnique({ where: { operationId_hostId: { operationId, hostId } }, select: { result: true } });
  if (canonical(current?.result) === canonical(result)) return { acknowledged: true as const };
  opLog.warn('a different completion for a finished operation was refused');
  throw new TRPCError({ code: 'CONFLICT', message: `operation ${operationId} already completed with a different result` });
}

function capsulAfter(result: CompletionResult) {
  return result.ok
    ? { state: result.state, ipv4: result.ipv4 ?? null, ipv6: result.ipv6 ?? null, error: null }
    : { state: 'failed' as const, error: result.error };
}
