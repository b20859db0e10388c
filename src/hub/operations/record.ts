// Writing Operation and HostOperation rows: every hub-to-spoke operation is recorded, with one row per host
// it was offered to.
import type { Prisma } from '~/generated/prisma/client';
import type { Db } from '../db/client';
import { log } from '~/lib/log';
import { processSingleton } from '~/lib/process-singleton';
import { countOperation } from '../metrics';
import type { HostOutcome } from './fan-out';

export type Actor = string; // "cli", "account:<email>", "system"

type Kind = Prisma.OperationCreateInput['kind'];

function json(value: unknown): Prisma.InputJsonValue {
  return (value ?? null) as Prisma.InputJsonValue;
}

export function hostRow(o: HostOutcome<unknown>, at: Date) {
  return o.ok
    ? { hostId: o.hostId, assignmentStatus: 'assigned' as const, result: json(o.value), assignedAt: at, completedAt: at }
    : { hostId: o.hostId, assignmentStatus: o.status, reason: o.reason, completedAt: at };
}

export function describeFailures(outcomes: HostOutcome<unknown>[]): string {
  return outcomes
    .filter((o) => !o.ok)
    .map((o) => (o.ok ? '' : `${o.hostId}: ${o.reason}`))
    .join('; ');
}

const pending = processSingleton('pendingRecords', () => new Set<Promise<unknown>>());

/** Lets a write finish after the answer has gone back, and be waited for at shutdown. */
export function track(write: Promise<unknown>): void {
  pending.add(write);
  void write.finally(() => pending.delete(write));
}

/** Waits for records still being written (at shutdown, and in tests). */
export async function recordsWritten(): Promise<void> {
  await Promise.allSettled([...pending]);
}

/**
 * An immediate operation that went to several hosts, recorded in one write (the operation and its host rows
 * together) that the caller does not wait for. It is completed when at least one host answered. A failed
 * write is logged; it cannot change the answer already given.
 */
export function recordFanOut(
  db: Db,
  opts: { id: string; kind: Kind; actor: Actor; payload: unknown; outcomes: HostOutcome<unknown>[]; startedAt: Date },
) {
  const now = new Date();
  const answered = opts.outcomes.some((o) => o.ok);
  countOperation(opts.kind, answered ? 'completed' : 'failed');
  const failures = describeFailures(opts.outcomes);
  log.info('operation finished', {
    operationId: opts.id,
    kind: opts.kind,
    actor: opts.actor,
    state: answered ? 'completed' : 'failed',
    ms: now.getTime() - opts.startedAt.getTime(),
    hosts: opts.outcomes.map((o) => `${o.hostId}:${o.ok ? 'assigned' : o.status}`),
  });
  const write = db.operation.create({
    data: {
      id: opts.id,
      kind: opts.kind,
      actor: opts.actor,
      payload: json(opts.payload),
      // Times from this process's clock, both of them: the record is written after the answers are in.
      createdAt: opts.startedAt,
      state: answered ? 'completed' : 'failed',
      error: opts.outcomes.length === 0 ? 'no host is online' : failures || null,
      completedAt: now,
      hostOperations: { createMany: { data: opts.outcomes.map((o) => hostRow(o, now)) } },
    },
    select: { id: true },
  });
  track(write.catch((err) => log.error('could not record an operation', { operationId: opts.id, err })));
}

/** An operation for one host, written before the call so that a crash mid-call leaves a trace. */
export function startOperation(
  db: Db,
  opts: { kind: Kind; actor: Actor; payload: unknown; capsulId: string | null; hostId: string | null },
) {
  return db.operation.create({
    data: {
      kind: opts.kind,
      actor: opts.actor,
      payload: json(opts.payload),
      createdAt: new Date(),
      capsulId: opts.capsulId,
      hostId: opts.hostId,
      hostOperations: opts.hostId ? { create: { hostId: opts.hostId } } : undefined,
    },
    select: { id: true },
  });
}

/** Completes an operation started with `startOperation` with its one host's outcome. */
export function finishOperation(db: Db, operationId: string, kindOf: Kind, outcome: HostOutcome<unknown>, extra: Prisma.PrismaPromise<unknown>[] = []) {
  const now = new Date();
  const row = hostRow(outcome, now);
  countOperation(kindOf, outcome.ok ? 'completed' : 'failed');
  log.info('operation finished', {
    operationId,
    kind: kindOf,
    hostId: outcome.hostId,
    state: outcome.ok ? 'completed' : 'failed',
    ms: outcome.ms,
    ...(outcome.ok ? {} : { status: outcome.status, reason: outcome.reason }),
  });
  return db.$transaction([
    db.operation.update({
      where: { id: operationId },
      data: { state: outcome.ok ? 'completed' : 'failed', error: outcome.ok ? null : `${outcome.hostId}: ${outcome.reason}`, completedAt: now },
    }),
    db.hostOperation.update({ where: { operationId_hostId: { operationId, hostId: outcome.hostId } }, data: row }),
    ...extra,
  ]);
}

/**
 * Which ended operations a report may still end: the owner's also one the reaper ended (the owner knows);
 * the reaper's only one nobody ended.
 */
export function endableBy(by: 'owner' | 'reaper') {
  return by === 'owner' ? { OR: [{ completedAt: null }, { reapedAt: { not: null } }] } : { completedAt: null };
}

/** The owner host's row of the operation: what it reported (or the reaper's verdict), and when. */
export function recordReport(tx: Prisma.TransactionClient, op: { id: string; hostId: string }, result: unknown, at: Date) {
  return tx.hostOperation.update({ where: { operationId_hostId: { operationId: op.id, hostId: op.hostId } }, data: { result: json(result), completedAt: at } });
}

export { json };
