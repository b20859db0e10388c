// Drift: where the database and the hosts disagree. Capsuls the database places on a host that answered but
// does not list them; domains hosts list that the database does not know (or thinks deleted); and states
// that differ. It only reports: nothing is deleted or changed on its own.
import type { Db } from '../db/client';
import { listFleet } from './fleet';
import type { Actor } from './record';

export async function findDrift(db: Db, actor: Actor) {
  const fleet = await listFleet(db, actor);
  const answered = new Set(fleet.answered);
  const onHosts = new Map(fleet.capsuls.map((c) => [c.id, c]));
  const known = await db.capsul.findMany({
    where: { OR: [{ deletedAt: null, hostId: { not: null } }, { id: { in: [...onHosts.keys()] } }] },
    select: { id: true, hostId: true, state: true, deletedAt: true, owner: { select: { email: true } } },
  });
  const byId = new Map(known.map((c) => [c.id, c]));

  const missing = known
    .filter((c) => !c.deletedAt && c.hostId && answered.has(c.hostId) && c.state !== 'pending' && c.state !== 'creating')
    .filter((c) => onHosts.get(c.id)?.hostId !== c.hostId)
    .map((c) => ({ id: c.id, hostId: c.hostId!, state: c.state, owner: c.owner.email, foundOn: onHosts.get(c.id)?.hostId ?? null }));
  const unknown = fleet.capsuls
    .filter((c) => !byId.get(c.id) || byId.get(c.id)!.deletedAt)
    .map((c) => ({ id: c.id, hostId: c.hostId, state: c.state, deletedInDatabase: !!byId.get(c.id)?.deletedAt }));
  const stateDiffers = fleet.capsuls
    .map((c) => ({ c, row: byId.get(c.id) }))
    .filter(({ c, row }) => row && !row.deletedAt && row.hostId === c.hostId && row.state !== c.state && row.state !== 'creating')
    .map(({ c, row }) => ({ id: c.id, hostId: c.hostId, database: row!.state, host: c.state }));

  return { operationId: fleet.operationId, checkedAt: new Date(), answered: fleet.answered, failed: fleet.failed, offline: fleet.offline, missing, unknown, stateDiffers };
}
