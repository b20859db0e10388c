// Nothing stays pending or assigned forever. Each round:
// - an operation still `pending` well past the per-host deadline lost its hub mid-call (the offers or the
//   call went out, the hub stopped before writing the answer): it is failed with that reason;
// - a create still `assigned` past CREATE_DEADLINE_MS is checked with `get` on its owner: running → it
//   completes with the address; no VM, or a VM that is not running → failed; no answer → failed with the
//   owner's silence as the reason. The console shows the reason on the capsul.
import { getOutput } from '~/contract/spoke';
import { env } from '~/env';
import type { Logger } from '~/lib/log';
import type { Db } from '../db/client';
import { capsulChanged } from '../events';
import { applyCompletion } from './complete';
import { callHost } from './fan-out';
import { failOrphanedSessions, failUnusedTickets } from '../console/tickets';
import { applyChangeCompletion } from './change-complete';
import { CHANGE_KINDS } from './running-change';
import type { ChangeKind } from '~/contract/change';

/**
 * A change still open past CHANGE_DEADLINE_MS: its owner went silent. It fails, with the capsul's state as the
 * owner answers `get` now (unchanged if it does not answer); a report from the owner later still wins.
 */
async function reapSilentChanges(db: Db, log: Logger, now: number): Promise<number> {
  const overdue = await db.operation.findMany({
    where: { kind: { in: CHANGE_KINDS }, state: { in: ['pending', 'assigned'] }, completedAt: null, createdAt: { lt: new Date(now - env().CHANGE_DEADLINE_MS) } },
    select: { id: true, kind: true, capsulId: true, hostId: true, host: { select: { id: true, httpsUrl: true } } },
  });
  let ended = 0;
  for (const op of overdue) {
    if (!op.host || !op.hostId || !op.capsulId) continue;
    const id = op.capsulId;
    const outcome = await callHost(op.host, { procedure: 'get', deadlineMs: env().SPOKE_CALL_TIMEOUT_MS, operationId: op.id }, (s, o) => s.get.query({ id }, o), getOutput);
    const silence = `past its deadline the owner ${op.hostId} had not reported how it ended`;
    const result = outcome.ok
      ? { ok: false as const, error: `${silence}; the capsul is ${outcome.value?.state ?? 'missing on the host'} now`, state: outcome.value?.state }
      : { ok: false as const, error: `${silence}, and does not answer: ${outcome.reason}` };
    if (await applyChangeCompletion(db, { id: op.id, hostId: op.hostId, capsulId: id, kind: op.kind as ChangeKind }, result, 'reaper')) {
      ended++;
      log.warn('reaper: an overdue change was ended', { operationId: op.id, kind: op.kind });
    }
  }
  return ended;
}

export async function reapStuckOperations(db: Db, log: Logger): Promise<{ failedPending: number; resolvedCreates: number }> {
  const now = Date.now();
  // Well past what an offer can take: its deadline, once it has a connection to its host (a burst may queue it
  // for some deadlines first, fan-out.ts).
  const pendingCutoff = new Date(now - 5 * env().SPOKE_CALL_TIMEOUT_MS - 5000);

  const stale = await db.operation.findMany({
    where: { state: 'pending', createdAt: { lt: pendingCutoff } },
    select: { id: true, kind: true, capsulId: true, capsul: { select: { ownerId: true } } },
  });
  for (const op of stale) {
    const reason = 'the hub stopped before the hosts answered; nothing was assigned';
    const done = await db.operation.updateMany({
      where: { id: op.id, state: 'pending' },
      data: { state: 'failed', error: reason, completedAt: new Date(), reapedAt: new Date() },
    });
    if (done.count === 0) continue;
    await db.hostOperation.updateMany({ where: { operationId: op.id, assignmentStatus: 'pending' }, data: { assignmentStatus: 'no_response_from_host', reason } });
    if (op.kind === 'create' && op.capsulId) {
      await db.capsul.updateMany({ where: { id: op.capsulId, state: 'pending' }, data: { state: 'failed', error: reason, deletedAt: new Date() } });
      capsulChanged({ id: op.capsulId, ownerId: op.capsul?.ownerId });
    }
    log.warn('reaper: a pending operation failed', { operationId: op.id, kind: op.kind });
  }

  const overdue = await db.operation.findMany({
    where: { kind: 'create', state: 'assigned', completedAt: null, createdAt: { lt: new Date(now - env().CREATE_DEADLINE_MS) } },
    select: { id: true, capsulId: true, hostId: true, host: { select: { id: true, httpsUrl: true } } },
  });
  let resolved = 0;
  for (const op of overdue) {
    if (!op.host || !op.hostId || !op.capsulId) continue;
    const id = op.capsulId;
    const outcome = await callHost(op.host, { procedure: 'get', deadlineMs: env().SPOKE_CALL_TIMEOUT_MS, operationId: op.id }, (s, o) => s.get.query({ id }, o), getOutput);
    const result = !outcome.ok
      ? { ok: false as const, error: `past its deadline and the owner ${op.hostId} did not answer: ${outcome.reason}` }
      : !outcome.value
        ? { ok: false as const, error: `past its deadline and the owner ${op.hostId} has no VM for it` }
        : outcome.value.state === 'running'
          ? { ok: true as const, state: outcome.value.state, ipv4: outcome.value.ipv4, ipv6: outcome.value.ipv6 }
          : { ok: false as const, error: `past its deadline the VM is ${outcome.value.state}, not running` };
    if (await applyCompletion(db, { id: op.id, hostId: op.hostId, capsulId: id }, result, 'reaper')) {
      resolved++;
      log.warn('reaper: an overdue create was ended', { operationId: op.id, ok: result.ok });
    }
  }
  resolved += await reapSilentChanges(db, log, now);
  // Console tickets minted and never used: their operations end, saying so.
  const unused = await failUnusedTickets(db);
  if (unused) log.info('reaper: console tickets expired unused', { count: unused });
  // Console sessions whose hub died mid-session (nobody touches their operation any more).
  const orphaned = await failOrphanedSessions(db);
  if (orphaned) log.warn('reaper: console sessions ended for a hub that stopped holding them', { count: orphaned });
  return { failedPending: stale.length, resolvedCreates: resolved };
}
