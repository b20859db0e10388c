// Calls a set of hosts in parallel, each under its own deadline, and classifies every answer. A host that
// accepts the connection and never answers costs its deadline and delays no other host's result.
import { TRPCClientError } from '@trpc/client';
import type { z } from 'zod';
import { errorMessage } from '~/lib/log';
import { spokeClient, type SpokeClient } from '../spoke-client';

export type HostTarget = { id: string; httpsUrl: string };

export type FailureStatus = 'no_response_from_host' | 'error_response_from_host' | 'invalid_response_from_host';

export type HostOutcome<T> =
  | { hostId: string; ok: true; value: T; ms: number }
  | { hostId: string; ok: false; status: FailureStatus; reason: string; ms: number };

/** Why a call failed, in the protocol's assignment statuses. */
export function classifyFailure(err: unknown, signal: AbortSignal, deadlineMs: number): { status: FailureStatus; reason: string } {
  if (signal.aborted) return { status: 'no_response_from_host', reason: `no answer within ${deadlineMs} ms` };
  if (err instanceof TRPCClientError) {
    const data = err.data as { code?: string; httpStatus?: number } | undefined;
    if (data?.code) return { status: 'error_response_from_host', reason: `${data.code}: ${err.message}` };
    const cause = err.cause as (Error & { cause?: { code?: string; message?: string } }) | undefined;
    if (cause && (cause.name === 'TypeError' || cause.name === 'AbortError')) {
      return { status: 'no_response_from_host', reason: cause.cause?.message ?? cause.message };
    }
    return { status: 'invalid_response_from_host', reason: err.message };
  }
  return { status: 'error_response_from_host', reason: errorMessage(err) };
}

export async function callHost<T>(
  host: HostTarget,
  deadlineMs: number,
  call: (client: SpokeClient, signal: AbortSignal) => Promise<unknown>,
  schema: z.ZodType<T>,
): Promise<HostOutcome<T>> {
  const started = performance.now();
  const signal = AbortSignal.timeout(deadlineMs);
  const ms = () => Math.round(performance.now() - started);
  let raw: unknown;
  try {
    raw = await call(spokeClient(host.httpsUrl), signal);
  } catch (err) {
    return { hostId: host.id, ok: false, ...classifyFailure(err, signal, deadlineMs), ms: ms() };
  }
  // What a spoke answers is checked against the contract, not trusted.
  const parsed = schema.safeParse(raw);
  if (!parsed.success) {
    const first = parsed.error.issues[0];
    return {
      hostId: host.id,
      ok: false,
      status: 'invalid_response_from_host',
      reason: `answer does not match the protocol: ${first?.path.join('.') || '(answer)'}: ${first?.message}`,
      ms: ms(),
    };
  }
  return { hostId: host.id, ok: true, value: parsed.data, ms: ms() };
}

export function fanOut<T>(
  hosts: HostTarget[],
  deadlineMs: number,
  call: (client: SpokeClient, signal: AbortSignal) => Promise<unknown>,
  schema: z.ZodType<T>,
): Promise<HostOutcome<T>[]> {
  return Promise.all(hosts.map((host) => callHost(host, deadlineMs, call, schema)));
}
