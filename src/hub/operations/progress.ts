// `spoke.reportProgress`: the owner of a create says which step its build is at, so the capsul's page can
// show it as it happens. Only the owner may report; a step only moves forward, and only while the create is
// open, so a late or repeated report (they are sent without waiting, and may cross) changes nothing.
import { TRPCError } from '@trpc/server';
import { createStep, type ProgressInput } from '~/contract/hub';
import type { Db } from '../db/client';
import { capsulChanged } from '../events';

export async function reportProgress(db: Db, hostId: string, { operationId, step }: ProgressInput) {
  const offer = await db.hostOperation.findUnique({
    where: { operationId_hostId: { operationId, hostId } },
    select: { operation: { select: { hostId: true, kind: true, state: true, capsulId: true, capsul: { select: { ownerId: true } } } } },
  });
  if (!offer || offer.operation.kind !== 'create') {
    throw new TRPCError({ code: 'NOT_FOUND', message: `operation ${operationId} was not offered to host ${hostId}` });
  }
  const op = offer.operation;
  if (op.hostId !== hostId) throw new TRPCError({ code: 'FORBIDDEN', message: `operation ${operationId} is not assigned to host ${hostId}` });
  if (op.state === 'assigned' && op.capsulId) {
    const earlier = createStep.options.slice(0, createStep.options.indexOf(step));
    const moved = await db.capsul.updateMany({
      where: { id: op.capsulId, state: 'creating', OR: [{ step: null }, { step: { in: earlier } }] },
      data: { step },
    });
    if (moved.count) capsulChanged({ id: op.capsulId, ownerId: op.capsul?.ownerId });
  }
  return { acknowledged: true as const };
}
