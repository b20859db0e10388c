// Immediate operations that go to every online host: `list` and `capacityAvailable`. They succeed when at
// least one host answers; the answer names each host that failed and why.
import { TRPCError } from '@trpc/server';
import { capacityOutput, listOutput } from '~/contract/spoke';
import { env } from '~/env';
import { HostsError } from '~/lib/trpc-errors';
import type { Db } from '../db/client';
import { fanOut, type HostOutcome, type HostTarget } from './fan-out';
import { onlineHosts } from './hosts';
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
    hosts?: HostTarget[];
    call: Parameters<typeof fanOut<T>>[2];
    schema: Parameters<typeof fanOut<T>>[3];
  },
) {
  const hosts = opts.hosts ?? (await onlineHosts(db));
  const outcomes = await fanOut(hosts, env().SPOKE_CALL_TIMEOUT_MS, opts.call, opts.schema);
  const operation = await recordFanOut(db, { kind: opts.kind, actor: opts.actor, payload: opts.payload, outcomes });
  if (!outcomes.some((o) => o.ok)) throw allFailed(opts.kind, outcomes);
  return { operationId: operation.id, outcomes, failed: failuresOf(outcomes) };
}

/** Every capsul every online host has, with the host it is on. */
export async function listFleet(db: Db, actor: Actor, hosts?: HostTarget[]) {
  const { operationId, outcomes, failed } = await toEveryOnlineHost(db, {
    kind: 'list',
    actor,
    payload: {},
    hosts,
    call: (spoke, signal) => spoke.list.query(undefined, { signal }),
    schema: listOutput,
  });
  const capsuls = outcomes.flatMap((o) => (o.ok ? o.value.capsuls.map((c) => ({ ...c, hostId: o.hostId })) : []));
  const answered = outcomes.flatMap((o) => (o.ok ? [o.hostId] : []));
  return { operationId, capsuls, answered, failed };
}

/** What each online host can take, and whether any can take the requested size. */
export async function fleetCapacity(db: Db, actor: Actor, request: { memoryMb: number; diskGb: number }) {
  const { operationId, outcomes, failed } = await toEveryOnlineHost(db, {
    kind: 'capacityAvailable',
    actor,
    payload: request,
    call: (spoke, signal) => spoke.capacityAvailable.query(request, { signal }),
    schema: capacityOutput,
  });
  const hosts = outcomes.flatMap((o) => (o.ok ? [{ hostId: o.hostId, ...o.value }] : []));
  return { operationId, available: hosts.some((h) => h.available), hosts, failed };
}
