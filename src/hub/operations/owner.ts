// Immediate operations that go to the one host owning a capsul: `get` (a refresh), `vmState` and `destroy`.
// Each is written before the call, so a crash mid-call leaves a trace, and completed with the host's answer.
import { TRPCError } from '@trpc/server';
import type { VmCommand } from '~/contract/capsul';
import { destroyOutput, getOutput, vmStateOutput } from '~/contract/spoke';
import { env } from '~/env';
import { HostsError } from '~/lib/trpc-errors';
import type { Db } from '../db/client';
import { capsulChanged } from '../events';
import { callHost, type HostOutcome, type HostTarget } from './fan-out';
import { changeRunning, runningChange } from './running-change';
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

export type Owned = Awaited<ReturnType<typeof findCapsul>>;

export function ownerOf(capsul: Owned) {
  if (!capsul.host) {
    throw new TRPCError({ code: 'PRECONDITION_FAILED', message: `capsul ${capsul.id} is on no host (state ${capsul.state})` });
  }
  return capsul.host;
}

export function hostFailed(outcome: HostOutcome<unknown>): TRPCError {
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

/** Refuses while a change (resize, snapshot, rebuild) runs on the capsul, naming it; and while it is created. */
async function refuseWhileBusy(db: Db, capsul: Owned, what: string): Promise<void> {
  refuseWhileCreating(capsul);
  const running = await runningChange(db, capsul.id);
  if (running) throw changeRunning(running, what);
}

/**
 * Asks the owner for the capsul's state and address now; the database follows what the host says. A host
 * that answers without the VM makes the capsul `missing` (its address is kept, for when the VM is back); a
 * host that does not answer changes nothing.
 */
export async function refreshCapsul(db: Db, actor: Actor, id: string, scope: Scope) {
  const capsul = await findCapsul(db, id, scope);
  const host = ownerOf(capsul);
  const op = await startOperation(db, { kind: 'get', actor, payload: { id }, capsulId: id, hostId: host.id });
  const outcome = await callHost(host, { procedure: 'get', deadlineMs: env().SPOKE_CALL_TIMEOUT_MS, operationId: op.id }, (s, o) => s.get.query({ id }, o), getOutput);
  const onHost = outcome.ok ? outcome.value : null;
  const building = capsul.state === 'pending' || capsul.state === 'creating';
  const now = !outcome.ok || building ? null : onHost ? { state: onHost.state, ipv4: onHost.ipv4 ?? null, ipv6: onHost.ipv6 ?? null } : { state: 'missing' as const };
  const changed = !!now && (now.state !== capsul.state || (!!onHost && (onHost.ipv4 ?? null) !== capsul.ipv4) || (!!onHost && (onHost.ipv6 ?? null) !== capsul.ipv6));
  // Conditional on what was read: a delete that lands meanwhile is not undone.
  const update = changed ? [db.capsul.updateMany({ where: { id, state: capsul.state, deletedAt: null }, data: now })] : [];
  await finishOperation(db, op.id, 'get', outcome, update);
  if (changed) capsulChanged(capsul);
  if (!outcome.ok) throw hostFailed(outcome);
  return { operationId: op.id, capsul: { ...capsul, ...(changed ? now : {}) }, onHost };
}

/** start, stop (ACPI), forceStop or restart, on the owner; returns the state the hypervisor reports. */
export async function setCapsulState(db: Db, actor: Actor, id: string, command: VmCommand, scope: Scope) {
  const capsul = await findCapsul(db, id, scope);
  await refuseWhileBusy(db, capsul, `a ${command} command`);
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
  capsulChanged(capsul); // its state, or at least its history of operations, changed
  if (!outcome.ok) throw hostFailed(outcome);
  return { operationId: op.id, state: outcome.value.state };
}

/** The recorded `destroy` of one capsul on one host: the VM, its disk and its seed. */
export async function destroyOnHost(db: Db, actor: Actor, capsulId: string, host: HostTarget, extra: (ok: boolean) => Parameters<typeof finishOperation>[4] = () => []) {
  const op = await startOperation(db, { kind: 'destroy', actor, payload: { id: capsulId }, capsulId, hostId: host.id });
  const outcome = await callHost(
    host,
    { procedure: 'destroy', deadlineMs: env().SPOKE_CALL_TIMEOUT_MS, operationId: op.id },
    (s, o) => s.destroy.mutate({ id: capsulId }, o),
    destroyOutput,
  );
  await finishOperation(db, op.id, 'destroy', outcome, extra(outcome.ok));
  return { ...outcome, operationId: op.id };
}

/** Removes the VM, its disk and its seed on the owner, then marks the capsul deleted. */
export async function destroyCapsul(db: Db, actor: Actor, id: string, scope: Scope) {
  const capsul = await findCapsul(db, id, scope);
  await refuseWhileBusy(db, capsul, 'deleting it');
  // Its snapshots go with it (the host removes their layers with the disk).
  const deleted = () => [
    db.capsul.update({ where: { id }, data: { state: 'deleted', deletedAt: new Date(), deletedBy: actor, step: null } }),
    db.snapshot.updateMany({ where: { capsulId: id, deletedAt: null }, data: { deletedAt: new Date() } }),
  ];
  if (!capsul.host) {
    // Never placed on a host (its create failed before assignment): nothing to remove anywhere.
    const op = await startOperation(db, { kind: 'destroy', actor, payload: { id }, capsulId: id, hostId: null });
    await db.$transaction([db.operation.update({ where: { id: op.id }, data: { state: 'completed', completedAt: new Date() } }), ...deleted()]);
    capsulChanged(capsul);
    return { operationId: op.id, destroyed: true as const };
  }
  const outcome = await destroyOnHost(db, actor, id, capsul.host, (ok) => (ok ? deleted() : []));
  capsulChanged(capsul);
  if (!outcome.ok) throw hostFailed(outcome);
  return { operationId: outcome.operationId, destroyed: true as const };
}
