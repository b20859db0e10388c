// A create whose hosts contradict the database (PROTOCOL.md v1.1): more than one host says it took it, or the
// owner says it will not build. The operation ends `conflict` and keeps its explanation whatever is reported
// later; the capsul is failed (and deleted, so no VM of it can pass for a live capsul: the drift page lists
// any that is left); and every VM the hosts made is destroyed, now, and again when the owner reports a build
// it finished regardless.
import type { Logger } from '~/lib/log';
import type { Db } from '../db/client';
import { capsulChanged, type CapsulChange } from '../events';
import { countOperation } from '../metrics';
import { knownHosts } from './hosts';
import { destroyOnHost } from './owner';
import { track } from './record';

export async function endInConflict(db: Db, c: { operationId: string; capsul: CapsulChange; error: string; hosts: string[]; log: Logger }) {
  const now = new Date();
  await db.$transaction([
    db.operation.update({ where: { id: c.operationId }, data: { state: 'conflict', error: c.error } }),
    db.capsul.update({ where: { id: c.capsul.id }, data: { state: 'failed', error: c.error, step: null, deletedAt: now } }),
  ]);
  capsulChanged(c.capsul);
  countOperation('create', 'conflict');
  c.log.error('create conflict: the hosts contradict the database', { error: c.error, hosts: c.hosts });
  for (const hostId of c.hosts) removeConflictedVm(db, c.capsul.id, hostId, c.log);
}

/** Destroys what a host may have made of a conflicted capsul, recorded as a destroy by `system`; not waited for. */
export function removeConflictedVm(db: Db, capsulId: string, hostId: string, log: Logger): void {
  track(
    (async () => {
      const host = (await knownHosts(db)).find((h) => h.id === hostId);
      if (!host) return;
      const outcome = await destroyOnHost(db, 'system', capsulId, host);
      if (outcome.ok) log.warn('conflict: removed the VM a host made', { hostId, capsulId });
      else log.error('conflict: could not remove the VM a host made; see the drift page', { hostId, capsulId, reason: outcome.reason });
    })().catch((err) => log.error('conflict: cleanup failed', { hostId, capsulId, err })),
  );
}
