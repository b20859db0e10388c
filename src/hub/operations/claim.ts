// `spoke.claimOperation`: the database decides, in one statement, which host owns a create. The UPDATE of
// the operation row is conditional on `pending` with no owner, so concurrent claims serialise on that row and
// exactly one of them changes it; the others find it taken.
import { TRPCError } from '@trpc/server';
import { createInput, type CreateInput } from '~/contract/spoke';
import type { Db } from '../db/client';
import { capsulChanged } from '../events';
import { claimSeconds } from '../metrics';

// Creates this hub process has in flight: their rows (written while the offers are out), which hosts each was
// offered to and, once a claim made here decides it, the winner. A claim here waits for the rows; the create
// then knows its owner without reading it back, and losing claims are answered without a statement. A claim
// that reaches another hub process goes to the database alone (and looks again if the rows are not there yet).
type InFlight = { rows: Promise<unknown>; offered: Set<string>; deciding?: Promise<void>; winner?: string };
const holder = globalThis as unknown as { __capsulCreatesInFlight?: Map<string, InFlight> };
const inFlight = (holder.__capsulCreatesInFlight ??= new Map());

/** Registers a create before its offers go out; `done` forgets it and says which host won here, if one did. */
export function createInFlight(operationId: string, offered: string[], rows: Promise<unknown>): { done: () => string | undefined } {
  const entry: InFlight = { rows, offered: new Set(offered) };
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

// How long a claim waits for an operation this hub process does not know and the database does not have yet:
// another hub process offered it while writing its rows, which land within milliseconds unless that hub's
// database pool is queued. An operation never recorded is refused after this.
const UNRECORDED_WAIT_MS = 1000;

async function decide(db: Db, hostId: string, operationId: string): Promise<CreateInput> {
  const local = inFlight.get(operationId);
  return local ? decideHere(db, hostId, operationId, local) : decideElsewhere(db, hostId, operationId);
}

/** A create of this process: wait for its rows; claims decide one at a time, and once one has won the rest
 * lose without a statement. */
async function decideHere(db: Db, hostId: string, operationId: string, local: InFlight): Promise<CreateInput> {
  if (!local.offered.has(hostId)) throw notOffered(operationId, hostId);
  await local.rows.catch(() => {
    throw new TRPCError({ code: 'PRECONDITION_FAILED', message: `operation ${operationId} could not be recorded` });
  });
  while (local.deciding) await local.deciding;
  if (local.winner && local.winner !== hostId) throw takenBy(operationId);
  let decided!: () => void;
  local.deciding = new Promise<void>((r) => (decided = r));
  try {
    const payload = await claimOnce(db, hostId, operationId);
    if (payload === UNRECORDED) throw notOffered(operationId, hostId); // not reached: its rows are written
    local.winner = hostId;
    return payload;
  } finally {
    local.deciding = undefined;
    decided();
  }
}

/** A create this process does not know: another hub's, whose rows may still be on their way. */
async function decideElsewhere(db: Db, hostId: string, operationId: string): Promise<CreateInput> {
  for (let waitMs = 10, waited = 0; ; waited += waitMs, waitMs *= 2) {
    const payload = await claimOnce(db, hostId, operationId);
    if (payload !== UNRECORDED) return payload;
    if (waited >= UNRECORDED_WAIT_MS) throw notOffered(operationId, hostId);
    await new Promise((r) => setTimeout(r, waitMs));
  }
}

const UNRECORDED = Symbol('unrecorded');

/** One attempt: the claim statement, and when it changes nothing, why not. */
async function claimOnce(db: Db, hostId: string, operationId: string): Promise<CreateInput | typeof UNRECORDED> {
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
  if (won[0]) {
    capsulChanged(won[0].capsulId);
    return createInput.parse(won[0].payload);
  }

  // Lost, asked twice, or not (yet) there: say which.
  const offer = await db.hostOperation.findUnique({
    where: { operationId_hostId: { operationId, hostId } },
    select: { operation: { select: { state: true, hostId: true, payload: true } } },
  });
  if (!offer) {
    // The operation and its offers are written in one statement: if the operation is there, this host was
    // not offered it; if not, it may still be on its way from another hub process.
    if (await db.operation.findUnique({ where: { id: operationId }, select: { id: true } })) throw notOffered(operationId, hostId);
    return UNRECORDED;
  }
  const op = offer.operation;
  if (op.hostId === hostId) return createInput.parse(op.payload); // a repeated claim by the owner
  if (op.hostId) throw takenBy(operationId);
  throw new TRPCError({ code: 'PRECONDITION_FAILED', message: `operation ${operationId} is no longer open (${op.state})` });
}

function notOffered(operationId: string, hostId: string) {
  return new TRPCError({ code: 'NOT_FOUND', message: `operation ${operationId} was not offered to host ${hostId}` });
}

function takenBy(operationId: string) {
  return new TRPCError({ code: 'CONFLICT', message: `operation ${operationId} is assigned to another host` });
}
