// Which change (resize, snapshot, rebuild) runs on a capsul now: the one open operation of those kinds
// (at most one, by the unique index Operation_one_change_per_capsul).
import { TRPCError } from '@trpc/server';
import { CHANGE_WORDS, changeKind, type ChangeKind } from '~/contract/change';
import type { Db } from '../db/client';

export const CHANGE_KINDS = changeKind.options;

export type RunningChange = { id: string; kind: ChangeKind; createdAt: Date };

export async function runningChange(db: Db, capsulId: string): Promise<RunningChange | null> {
  const op = await db.operation.findFirst({
    where: { capsulId, state: { in: ['pending', 'assigned'] }, kind: { in: CHANGE_KINDS } },
    select: { id: true, kind: true, createdAt: true },
  });
  return op ? { id: op.id, kind: op.kind as ChangeKind, createdAt: op.createdAt } : null;
}

export function changeRunning(running: RunningChange, what: string): TRPCError {
  return new TRPCError({
    code: 'CONFLICT',
    message: `${CHANGE_WORDS[running.kind]} is running on this capsul (operation ${running.id}, started ${running.createdAt.toISOString()}); ${what} can start once it ends`,
  });
}
