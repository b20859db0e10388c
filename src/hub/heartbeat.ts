// The hub calls every host's `heartbeat` on a fixed period. The spoke answers only after its own call to
// the hub's `spoke.heartbeat` succeeded (which sets Host.lastHealthCheck), so a host is online exactly while
// both directions work. A failed round records the reason on the host. Heartbeats are liveness, not
// operations, and are not written to the operations log.
import { heartbeatOutput } from '~/contract/spoke';
import type { Logger } from '~/lib/log';
import type { Db } from './db/client';
import { every } from '~/lib/every';
import { fanOut } from './operations/fan-out';

export async function heartbeatRound(db: Db, deadlineMs: number, log: Logger): Promise<void> {
  const hosts = await db.host.findMany({ where: { removedAt: null }, select: { id: true, httpsUrl: true, lastError: true } });
  const outcomes = await fanOut(hosts, { procedure: 'heartbeat', deadlineMs }, (s, o) => s.heartbeat.mutate(undefined, o), heartbeatOutput);
  for (const outcome of outcomes) {
    if (outcome.ok) continue;
    const host = hosts.find((h) => h.id === outcome.hostId);
    const reason = `${outcome.status}: ${outcome.reason}`;
    if (host?.lastError !== reason) {
      log.warn('heartbeat failed', { hostId: outcome.hostId, reason });
      await db.host.update({ where: { id: outcome.hostId }, data: { lastError: reason } });
    }
  }
}

export function startHeartbeats(db: Db, opts: { periodMs: number; deadlineMs: number; log: Logger }) {
  return { stop: every(opts.periodMs, 0, () => heartbeatRound(db, opts.deadlineMs, opts.log), opts.log, 'heartbeat round') };
}
