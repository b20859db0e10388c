// `spoke.claimOperation`: the database decides, in one statement, which host owns a create. The UPDATE of
// the operation row is conditional on `pending` with no owner, so concurrent claims serialise on that row and
// exactly one of them changes it; the others find it taken.
import { TRPCError } from '@trpc/server';
import { createInput, type CreateInput } from '~/contract/spoke';
import type { Db } from '../db/client';
import { capsulChanged } from '../events';
import { claimSeconds } from '../metrics';

// Creates this hub process has in flight: which hosts it offered each one to and, once a claim made here
// decides it, the winner. The create then knows its owner without reading it back, and a losing claim is
// answered without a second read. A claim that reaches another hub process goes to the database alone.
type InFlight = { offered: Set<string>; winner?: string };
const holder = globalThis as unknown as { __capsulCreatesInFlight?: Map<string, InFlight> };
const inFlight = (holder.__capsulCreatesInFlight ??= new Map());

/** Registers a create before its offers go out; `done` forgets it and says which host won here, if one did. */
export function createInFlight(operationId: string, offered: string[]): { done: () => string | undefined } {
  const entry: InFlight = { offered: new Set(offered) };
  inFlight.set(operationId, entry);
  return {
    done: () => {
      inFlight.delete(operationId);
      return entry.winner;
    },
  };
}

export async function claimOperation(db: Db, hostId: string, operationId: string): Promise<CreateInput> {
  const started = performance.now();
  try {
    const payload = await decide(db, hostId, operationId);
    claimSeconds.observe({ outcome: 'won' }, (performance.now() - started) / 1000);
    return payload;
  } catch (err) {
    claimSeconds.observe({ outcome: err instanceof TRPCError ? err.code.toLowerCase() : 'error' }, (performance.now() - started) / 1000);
    throw err;
  }
}

async function decide(db: Db, hostId: string, operationId: string): Promise<CreateInput> {
  const won = await db.$queryRaw<{ payload: unknown; capsulId: string | null }[]>`
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
         SET "hostId" = ${hostId}, state = 'creating', "updatedAt" = now() AT TIME ZONE 'UTC'
        FROM won WHERE c.id = won."capsulId"
    )
    SELECT payload, "capsulId" FROM won`;
  const local = inFlight.get(operationId);
  if (won[0]) {
    if (local) local.winner = hostId;
    capsulChanged(won[0].capsulId);
    return createInput.parse(won[0].payload);
  }

  // Lost, or asked twice: say which (from this process's own create when it has it, else from the database).
  if (local && !local.offered.has(hostId)) throw new TRPCError({ code: 'NOT_FOUND', message: `operation ${operationId} was not offered to host ${hostId}` });
  if (local?.winner && local.winner !== hostId) throw new TRPCError({ code: 'CONFLICT', message: `operation ${operationId} is assigned to another host` });
  const offer = await db.hostOperation.findUnique({
    where: { operationId_hostId: { operationId, hostId } },
    select: { operation: { select: { state: true, hostId: true, payload: true } } },
  });
  if (!offer) throw new TRPCError({ code: 'NOT_FOUND', message: `operation ${operationId} was not offered to host ${hostId}` });
  const op = offer.operation;
  if (op.hostId === hostId) return createInput.parse(op.payload); // a repeated claim by the owner
  if (op.hostId) throw new TRPCError({ code: 'CONFLICT', message: `operation ${operationId} is assigned to another host` });
  throw new TRPCError({ code: 'PRECONDITION_FAILED', message: `operation ${operationId} is no longer open (${op.state})` });
}
