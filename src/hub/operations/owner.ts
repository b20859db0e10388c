// Immediate operations that go to the one host owning a capsul: `get`, `vmState` and `destroy`.
import { TRPCError } from '@trpc/server';
import type { VmCommand } from '~/contract/capsul';
import { destroyOutput, getOutput, vmStateOutput } from '~/contract/spoke';
import { env } from '~/env';
import { HostsError } from '~/lib/trpc-errors';
import type { Db } from '../db/client';
import { capsulChanged } from '../events';
import { callHost, type HostOutcome } from './fan-out';
import { finishOperation, startOperation, type Actor } from './record';

/** Limits which capsuls an actor reaches: an account only its own, the operator any. */
export type Scope = { ownerId?: string };

export async function findCapsul(db: Db, id: string, scope: Scope) {
  const capsul = await db.capsul.findFirst({
    where: { id, deletedAt: null, ...(scope.ownerId ? { ownerId: scope.ownerId } : {}) },
    include: { host: { select: { id: true, httpsUrl: true } } },
  });
  // The same answer whether the capsul does not exist or belongs to someone else.
  if (!capsul) throw new TRPCError({ code: 'NOT_FOUND', message: `no capsul ${id}` });
  return capsul;
}

type Owned = Awaited<ReturnType<typeof findCapsul>>;

function ownerOf(capsul: Owned) {
  if (!capsul.host) {
    throw new TRPCError({ code: 'PRECONDITION_FAILED', message: `capsul ${capsul.id} is on no host (state ${capsul.state})` });
  }
  return capsul.host;
}

function hostFailed(outcome: HostOutcome<unknown>): TRPCError {
  if (outcome.ok) throw new Error('hostFailed on a success');
  const message = `host ${outcome.hostId} could not do it: ${outcome.reason}`;
  return new TRPCError({
    code: outcome.status === 'error_response_from_host' ? 'BAD_GATEWAY' : 'SERVICE_UNAVAILABLE',
    message,
    cause: new HostsError(message, [{ hostId: outcome.hostId, status: outcome.status, reason: outcome.reason }]),
  });
}

function refuseWhileCreating(capsul: Owned): void {
  if (capsul.state === 'pending' || capsul.state === 'creating') {
    throw new TRPCError({ code: 'PRECONDITION_FAILED', message: `capsul ${capsul.id} is still being created; try again when it is running` });
  }
}

/** Asks the owner for the capsul's state and address, and keeps the database in step. */
export async function getCapsul(db: Db, actor: Actor, id: string, scope: Scope) {
  const capsul = await findCapsul(db, id, scope);
  const host = ownerOf(capsul);
  const op = await startOperation(db, { kind: 'get', actor, payload: { id }, capsulId: id, hostId: host.id });
  const outcome = await callHost(host, { procedure: 'get', deadlineMs: env().SPOKE_CALL_TIMEOUT_MS, operationId: op.id }, (s, o) => s.get.query({ id }, o), getOutput);
  const onHost = outcome.ok ? outcome.value : null;
  const refresh =
    onHost && capsul.state !== 'creating'
      ? [db.capsul.update({ where: { id }, data: { state: onHost.state, ipv4: onHost.ipv4 ?? null, ipv6: onHost.ipv6 ?? null } })]
      : [];
  await finishOperation(db, op.id, 'get', outcome, refresh);
  capsulChanged(id);
  if (!outcome.ok) throw hostFailed(outcome);
  return { operationId: op.id, capsul: { ...capsul, ...(refresh.length && onHost ? onHost : {}) }, onHost };
}

/** start, stop (ACPI), forceStop or restart, on the owner; returns the state the hypervisor reports. */
export async function setCapsulState(db: Db, actor: Actor, id: string, command: VmCommand, scope: Scope) {
  const capsul = await findCapsul(db, id, scope);
  refuseWhileCreating(capsul);
  const host = ownerOf(capsul);
  const op = await startOperation(db, { kind: 'vmState', actor, payload: { id, command }, capsulId: id, hostId: host.id });
  const outcome = await callHost(
    host,
    { procedure: 'vmState', deadlineMs: env().SPOKE_CALL_TIMEOUT_MS, operationId: op.id },
    (s, o) => s.vmState.mutate({ id, command }, o),
    vmStateOutput,
  );
  const update = outcome.ok ? [db.capsul.update({ where: { id }, data: { state: outcome.value.state } })] : [];
  await finishOperation(db, op.id, 'vmState', outcome, update);
  capsulChanged(id);
  if (!outcome.ok) throw hostFailed(outcome);
  return { operationId: op.id, state: outcome.value.state };
}

/** Removes the VM, its disk and its seed on the owner, then marks the capsul deleted. */
export async function destroyCapsul(db: Db, actor: Actor, id: string, scope: Scope) {
  const capsul = await findCapsul(db, id, scope);
  refuseWhileCreating(capsul);
  const now = new Date();
  if (!capsul.host) {
    // Never placed on a host (its create failed before assignment): nothing to remove anywhere.
    const op = await startOperation(db, { kind: 'destroy', actor, payload: { id }, capsulId: id, hostId: null });
    await db.$transaction([
      db.operation.update({ where: { id: op.id }, data: { state: 'completed', completedAt: now } }),
      db.capsul.update({ where: { id }, data: { state: 'deleted', deletedAt: now } }),
    ]);
    capsulChanged(id);
    return { operationId: op.id, destroyed: true as const };
  }
  const host = capsul.host;
  const op = await startOperation(db, { kind: 'destroy', actor, payload: { id }, capsulId: id, hostId: host.id });
  const outcome = await callHost(host, { procedure: 'destroy', deadlineMs: env().SPOKE_CALL_TIMEOUT_MS, operationId: op.id }, (s, o) => s.destroy.mutate({ id }, o), destroyOutput);
  const update = outcome.ok ? [db.capsul.update({ where: { id }, data: { state: 'deleted', deletedAt: now } })] : [];
  await finishOperation(db, op.id, 'destroy', outcome, update);
  capsulChanged(id);
  if (!outcome.ok) throw hostFailed(outcome);
  return { operationId: op.id, destroyed: true as const };
}
