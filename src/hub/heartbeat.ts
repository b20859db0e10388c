// The hub calls every host's `heartbeat` on a fixed period. The spoke answers only after its own call to
// the hub's `spoke.heartbeat` succeeded (which sets Host.lastHealthCheck), so a host is online exactly while
// both directions work. A failed round records the reason on the host. Heartbeats are liveness, not
// operations, and are not written to the operations log.
import { heartbeatOutput } from '~/contract/spoke';
import type { Logger } from '~/lib/log';
import type { Db } from './db/client';
import { every } from '~/lib/every';
import { fanOut } from './operations/fan-out';

const NO_CALL_BACK = 'invalid_response_from_host: answered the heartbeat without calling the hub\'s spoke.heartbeat first (it may not reach the hub)';

export async function heartbeatRound(db: Db, deadlineMs: number, log: Logger): Promise<void> {
  const hosts = await db.host.findMany({ where: { removedAt: null }, select: { id: true, httpsUrl: true, lastError: true, lastHealthCheck: true } });
  const outcomes = await fanOut(hosts, { procedure: 'heartbeat', deadlineMs }, (s, o) => s.heartbeat.mutate(undefined, o), heartbeatOutput);
  // A spoke answers only after its call to `spoke.heartbeat` succeeded, and that call moved lastHealthCheck
  // (through whichever hub it reached). An answer that did not move it proves only one way: say so.
  const answered = outcomes.filter((o) => o.ok).map((o) => o.hostId);
  const heard = answered.length ? await db.host.findMany({ where: { id: { in: answered } }, select: { id: true, lastHealthCheck: true } }) : [];
  for (const outcome of outcomes) {
    const host = hosts.find((h) => h.id === outcome.hostId);
    let reason: string;
    if (outcome.ok) {
      const now = heard.find((h) => h.id === outcome.hostId)?.lastHealthCheck;
      if (now && now.getTime() !== host?.lastHealthCheck?.getTime()) continue;
      reason = NO_CALL_BACK;
    } else {
      reason = `${outcome.status}: ${outcome.reason}`;
    }
    if (host?.lastError !== reason) {
      log.warn('heartbeat failed', { hostId: outcome.hostId, reason });
      await db.host.update({ where: { id: outcome.hostId }, data: { lastError: reason } });
    }
  }
}

export function startHeartbeats(db: Db, opts: { periodMs: number; deadlineMs: number; log: Logger }) {
  return { stop: every(opts.periodMs, 0, () => heartbeatRound(db, opts.deadlineMs, opts.log), opts.log, 'heartbeat round') };
}
