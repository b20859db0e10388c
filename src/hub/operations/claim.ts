// `spoke.claimOperation`: the database decides, in one statement, which host owns a create. The UPDATE of
// the operation row is conditional on `pending` with no owner, so concurrent claims serialise on that row and
// exactly one of them changes it; the others find it taken. The owner asking again gets the payload again,
// so a spoke whose answer was lost on the way back can always learn that it won.
import { TRPCError } from '@trpc/server';
import { createInput, type CreateInput } from '~/contract/spoke';
import type { Db } from '../db/client';
import { capsulChanged } from '../events';
import { claimSeconds } from '../metrics';

export async function claimOperation(db: Db, hostId: string, operationId: string): Promise<CreateInput> {
  const started = performance.now();
  try {
    const payload = await claim(db, hostId, operationId);
    claimSeconds.observe({ outcome: 'won' }, (performance.now() - started) / 1000);
    return payload;
  } catch (err) {
    claimSeconds.observe({ outcome: err instanceof TRPCError ? err.code.toLowerCase() : 'error' }, (performance.now() - started) / 1000);
    throw err;
  }
}

async function claim(db: Db, hostId: string, operationId: string): Promise<CreateInput> {
  const won = await db.$queryRaw<{ payload: unknown; capsulId: string | null; ownerId: string | null }[]>`
    WITH won AS (
      UPDATE "Operation" AS o
         SET state = 'assigned', "hostId" = ${hostId}, "updatedAt" = now() AT TIME ZONE 'UTC'
       WHERE o.id = ${operationId} AND o.kind = 'create' AND o.state = 'pending' AND o."hostId" IS NULL
         AND EXISTS (SELECT 1 FROM "HostOperation" h WHERE h."operationId" = o.id AND h."hostId" = ${hostId})
      RETURNING o.id, o.payload, o."capsulId"
    ), offer AS (
      UPDATE "HostOperation" AS h
         SET "assignmentStatus" = 'assigned', "assignedAt" = now() AT TIME ZONE 'UTC'
        FROM won WHERE h."operationId" = won.id AND h."hostId" = ${hostId}
    ), capsul AS (
      UPDATE "Capsul" AS c
         SET "hostId" = ${hostId}, state = 'creating', step = 'assigned', "updatedAt" = now() AT TIME ZONE 'UTC'
        FROM won WHERE c.id = won."capsulId"
      RETURNING c."ownerId"
    )
    SELECT won.payload, won."capsulId", (SELECT "ownerId" FROM capsul) AS "ownerId" FROM won`;
  if (won[0]) {
    capsulChanged({ id: won[0].capsulId, ownerId: won[0].ownerId });
    return createInput.parse(won[0].payload);
  }

  // Lost, asked twice, or never offered: say which.
  const offer = await db.hostOperation.findUnique({
    where: { operationId_hostId: { operationId, hostId } },
    select: { operation: { select: { state: true, hostId: true, payload: true, reapedAt: true } } },
  });
  if (!offer) throw new TRPCError({ code: 'NOT_FOUND', message: `operation ${operationId} was not offered to host ${hostId}` });
  const op = offer.operation;
  // The owner asking again, while the create is its to build: still open, built already, or ended by the
  // reaper for its silence (the owner's report still wins over that verdict, complete.ts).
  const stillOwners = op.state === 'assigned' || op.state === 'completed' || (op.state === 'failed' && op.reapedAt);
  if (op.hostId === hostId && stillOwners) return createInput.parse(op.payload);
  if (op.hostId && op.hostId !== hostId) throw new TRPCError({ code: 'CONFLICT', message: `operation ${operationId} is assigned to another host` });
  if (op.state === 'conflict') throw new TRPCError({ code: 'CONFLICT', message: `operation ${operationId} ended in a conflict; nothing is to be built for it` });
  throw new TRPCError({ code: 'PRECONDITION_FAILED', message: `operation ${operationId} is no longer open (${op.state})` });
}
