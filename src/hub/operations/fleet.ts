// Immediate operations that go to every online host: `list` and `capacityAvailable`. They succeed when at
// least one host answers; the answer names each host that failed and why.
import { randomUUID } from 'node:crypto';
import { TRPCError } from '@trpc/server';
import { capacityOutput, listOutput } from '~/contract/spoke';
import { env } from '~/env';
import { HostsError } from '~/lib/trpc-errors';
import type { Db } from '../db/client';
import { fanOut, type HostOutcome } from './fan-out';
import { hostsByState } from './hosts';
import { recordFanOut, type Actor } from './record';

export type HostFailure = { hostId: string; status: string; reason: string };

function failuresOf(outcomes: HostOutcome<unknown>[]): HostFailure[] {
  return outcomes.flatMap((o) => (o.ok ? [] : [{ hostId: o.hostId, status: o.status, reason: o.reason }]));
}

function allFailed(what: string, outcomes: HostOutcome<unknown>[]): TRPCError {
  const hosts = failuresOf(outcomes);
  const message = hosts.length
    ? `${what}: no host answered (${hosts.map((h) => `${h.hostId}: ${h.reason}`).join('; ')})`
    : `${what}: no host is online`;
  return new TRPCError({ code: 'SERVICE_UNAVAILABLE', message, cause: new HostsError(message, hosts) });
}

async function toEveryOnlineHost<T>(
  db: Db,
  opts: {
    kind: 'list' | 'capacityAvailable';
    actor: Actor;
    payload: unknown;
    call: Parameters<typeof fanOut<T>>[2];
    schema: Parameters<typeof fanOut<T>>[3];
  },
) {
  const startedAt = new Date();
  // Offline hosts are not asked, but the answer names them: a partial answer says what it is missing.
  const { online, offline } = await hostsByState(db);
  const operationId = randomUUID();
  const outcomes = await fanOut(online, { procedure: opts.kind, deadlineMs: env().SPOKE_CALL_TIMEOUT_MS, operationId }, opts.call, opts.schema);
  // Recorded after the answer goes back (these operations only read): the record is the audit trail, and
  // the caller need not wait for the write.
  recordFanOut(db, { id: operationId, kind: opts.kind, actor: opts.actor, payload: opts.payload, outcomes, startedAt });
  if (!outcomes.some((o) => o.ok)) throw allFailed(opts.kind, outcomes);
  return { operationId, outcomes, failed: failuresOf(outcomes), offline };
}

/** Every capsul every online host has, with the host it is on. */
export async function listFleet(db: Db, actor: Actor) {
  const { operationId, outcomes, failed, offline } = await toEveryOnlineHost(db, {
    kind: 'list',
    actor,
    payload: {},
    call: (spoke, o) => spoke.list.query(undefined, o),
    schema: listOutput,
  });
  const capsuls = outcomes.flatMap((o) => (o.ok ? o.value.capsuls.map((c) => ({ ...c, hostId: o.hostId })) : []));
  const answered = outcomes.flatMap((o) => (o.ok ? [o.hostId] : []));
  return { operationId, capsuls, answered, failed, offline };
}

/** What each online host can take, and whether any can take the requested size. */
export async function fleetCapacity(db: Db, actor: Actor, request: { memoryMb: number; diskGb: number }) {
  const { operationId, outcomes, failed, offline } = await toEveryOnlineHost(db, {
    kind: 'capacityAvailable',
    actor,
    payload: request,
    call: (spoke, o) => spoke.capacityAvailable.query(request, o),
    schema: capacityOutput,
  });
  const hosts = outcomes.flatMap((o) => (o.ok ? [{ hostId: o.hostId, ...o.value }] : []));
  return { operationId, available: hosts.some((h) => h.available), hosts, failed, offline };
}
