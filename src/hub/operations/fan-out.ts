// Calls a set of hosts in parallel, each under its own deadline, and classifies every answer. A host that
// accepts the connection and never answers costs its deadline and delays no other host's result. The
// deadline counts the host's time, not the time a call waited for one of the hub's connections to it.
import type { z } from 'zod';
import { CONNECTIONS_PER_PEER } from '~/lib/https-fetch';
import { Limiter } from '~/lib/limiter';
import { errorMessage } from '~/lib/log';
import { processSingleton } from '~/lib/process-singleton';
import { fieldIssues } from '~/lib/trpc-errors';
import { fanOutSeconds, hostCallSeconds } from '../metrics';
import { spokeClient, type SpokeClient } from '../spoke-client';

export type HostTarget = { id: string; httpsUrl: string };

export type FailureStatus = 'no_response_from_host' | 'error_response_from_host' | 'invalid_response_from_host';

export type HostOutcome<T> =
  | { hostId: string; ok: true; value: T; ms: number }
  | { hostId: string; ok: false; status: FailureStatus; reason: string; ms: number };

const NETWORK_CODES = /^(E[A-Z]+|UND_ERR_[A-Z_]+|ERR_SSL_[A-Z_]+|CERT_[A-Z_]+|UNABLE_TO_[A-Z_]+|DEPTH_ZERO_SELF_SIGNED_CERT|SELF_SIGNED_CERT_IN_CHAIN)$/;

/** The chain of causes of an error, outermost first. */
function causes(err: unknown): { name?: string; message?: string; code?: string; data?: unknown }[] {
  const chain = [];
  for (let e = err as { cause?: unknown } | undefined, depth = 0; e && typeof e === 'object' && depth < 6; e = e.cause as typeof e, depth++) {
    chain.push(e as { name?: string; message?: string; code?: string; data?: unknown });
  }
  return chain;
}

/**
 * Why a call failed, in the protocol's assignment statuses. Duck-typed rather than `instanceof`: the hub's
 * code runs in two module graphs (the custom server and the Next.js bundle), each with its own tRPC classes.
 */
export function classifyFailure(err: unknown, signal: AbortSignal, deadlineMs: number): { status: FailureStatus; reason: string } {
  if (signal.aborted) return { status: 'no_response_from_host', reason: `no answer within ${deadlineMs} ms` };
  const chain = causes(err);
  const answered = chain.find((e) => (e.data as { code?: string } | undefined)?.code);
  if (answered) {
    // A refused input names its fields in data (trpc-errors.ts), not in the message: an admin reading the reason needs them.
    const issues = fieldIssues(answered).map((i) => `${i.path}: ${i.message}`);
    return { status: 'error_response_from_host', reason: `${(answered.data as { code: string }).code}: ${issues.length ? issues.join(' ') : answered.message}` };
  }
  const network = chain.find((e) => e.code && NETWORK_CODES.test(e.code)) ?? chain.find((e) => e.message === 'fetch failed');
  if (network) {
    const deepest = chain[chain.length - 1];
    return { status: 'no_response_from_host', reason: deepest?.message || network.message || 'connection failed' };
  }
  if (chain[0]?.name === 'TRPCClientError') return { status: 'invalid_response_from_host', reason: chain[0].message ?? 'unreadable answer' };
  return { status: 'error_response_from_host', reason: errorMessage(err) };
}

/** What a call is: the spoke procedure (for metrics), its deadline, and the operation it serves (sent to the
 * spoke, which logs it on every line of that work). */
export type CallInfo = { procedure: string; deadlineMs: number; operationId?: string };
/** Options every spoke call passes on to its tRPC client. */
export type CallOptions = { signal: AbortSignal; context: { operationId?: string } };

// One queue per host, as wide as the hub's connection pool to it (spoke-client.ts uses the same fetch).
const queues = processSingleton('hostCallQueues', () => new Map<string, Limiter>());
function hostQueue(httpsUrl: string): Limiter {
  let queue = queues.get(httpsUrl);
  if (!queue) queues.set(httpsUrl, (queue = new Limiter(CONNECTIONS_PER_PEER)));
  return queue;
}

export async function callHost<T>(
  host: HostTarget,
  info: CallInfo,
  call: (client: SpokeClient, opts: CallOptions) => Promise<unknown>,
  schema: z.ZodType<T>,
): Promise<HostOutcome<T>> {
  const started = performance.now();
  const ms = () => Math.round(performance.now() - started);
  const done = (outcome: HostOutcome<T>) => {
    hostCallSeconds.observe({ procedure: info.procedure, result: outcome.ok ? 'ok' : outcome.status }, (performance.now() - started) / 1000);
    return outcome;
  };
  // The deadline measures the host: it starts once the call has one of the hub's connections to that host. In
  // a burst, calls wait for one here first, for as long as the host keeps answering the calls ahead of them;
  // when one of those gets no answer within its deadline, the host is not answering, and the waiting calls
  // are answered so at once instead of each spending a deadline of its own on it.
  const queue = hostQueue(host.httpsUrl);
  let signal: AbortSignal | undefined;
  let raw: unknown;
  try {
    raw = await queue.run(() => {
      signal = AbortSignal.timeout(info.deadlineMs);
      return call(spokeClient(host), { signal, context: { operationId: info.operationId } });
    });
  } catch (err) {
    if (!signal) {
      const reason = `no answer: the calls ahead of this one to this host got none within ${info.deadlineMs} ms`;
      return done({ hostId: host.id, ok: false, status: 'no_response_from_host', reason, ms: ms() });
    }
    const failure = classifyFailure(err, signal, info.deadlineMs);
    if (signal.aborted) queue.failWaiting(err);
    return done({ hostId: host.id, ok: false, ...failure, ms: ms() });
  }
  // What a spoke answers is checked against the contract, not trusted.
  const parsed = schema.safeParse(raw);
  if (!parsed.success) {
    const first = parsed.error.issues[0];
    return done({
      hostId: host.id,
      ok: false,
      status: 'invalid_response_from_host',
      reason: `answer does not match the protocol: ${first?.path.join('.') || '(answer)'}: ${first?.message}`,
      ms: ms(),
    });
  }
  return done({ hostId: host.id, ok: true, value: parsed.data, ms: ms() });
}

export async function fanOut<T>(
  hosts: HostTarget[],
  info: CallInfo,
  call: (client: SpokeClient, opts: CallOptions) => Promise<unknown>,
  schema: z.ZodType<T>,
): Promise<HostOutcome<T>[]> {
  const started = performance.now();
  const outcomes = await Promise.all(hosts.map((host) => callHost(host, info, call, schema)));
  fanOutSeconds.observe({ procedure: info.procedure }, (performance.now() - started) / 1000);
  return outcomes;
}
