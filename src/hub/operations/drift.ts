// Drift: where the database and the hosts disagree. Capsuls the database places on a host that answered but
// does not list them; domains hosts list that the database does not know (or thinks deleted); and states
// that differ. It never touches a VM. The one thing it writes (`followHosts`) is what a host that answered
// says about its own capsuls: one it does not have is `missing`, and a missing one it lists again takes the
// state it reports.
import type { Db } from '../db/client';
import { capsulChanged } from '../events';
import { listFleet } from './fleet';
import type { Actor } from './record';

export async function findDrift(db: Db, actor: Actor) {
  const askedAt = new Date();
  const fleet = await listFleet(db, actor);
  const answered = new Set(fleet.answered);
  const onHosts = new Map(fleet.capsuls.map((c) => [c.id, c]));
  const known = await db.capsul.findMany({
    where: { OR: [{ deletedAt: null, hostId: { not: null } }, { id: { in: [...onHosts.keys()] } }] },
    select: { id: true, name: true, hostId: true, state: true, deletedAt: true, owner: { select: { email: true } } },
  });
  const byId = new Map(known.map((c) => [c.id, c]));

  const missing = known
    .filter((c) => !c.deletedAt && c.hostId && answered.has(c.hostId) && c.state !== 'pending' && c.state !== 'creating')
    .filter((c) => onHosts.get(c.id)?.hostId !== c.hostId)
    .map((c) => ({ id: c.id, name: c.name, hostId: c.hostId!, state: c.state, owner: c.owner.email, foundOn: onHosts.get(c.id)?.hostId ?? null }));
  const unknown = fleet.capsuls
    .filter((c) => !byId.get(c.id) || byId.get(c.id)!.deletedAt)
    .map((c) => ({ id: c.id, hostId: c.hostId, state: c.state, deletedInDatabase: !!byId.get(c.id)?.deletedAt }));
  const stateDiffers = fleet.capsuls
    .map((c) => ({ c, row: byId.get(c.id) }))
    .filter(({ c, row }) => row && !row.deletedAt && row.hostId === c.hostId && row.state !== c.state && row.state !== 'creating')
    .map(({ c, row }) => ({ id: c.id, name: row!.name, hostId: c.hostId, database: row!.state, host: c.state }));

  return { operationId: fleet.operationId, askedAt, checkedAt: new Date(), answered: fleet.answered, failed: fleet.failed, offline: fleet.offline, missing, unknown, stateDiffers };
}

type Drift = Awaited<ReturnType<typeof findDrift>>;

/**
 * Writes onto the capsuls what their hosts said: `missing` for each one its host answered without, and the
 * host's state for a missing one the host lists again. Only capsuls unchanged since the hosts were asked
 * (a create that finished or a delete that landed meanwhile wins) and only hosts that answered.
 */
export async function followHosts(db: Db, drift: Drift): Promise<void> {
  const unchanged = { deletedAt: null, updatedAt: { lt: drift.askedAt } };
  const changes = [
    ...drift.missing
      .filter((m) => m.state !== 'missing')
      .map((m) => ({ id: m.id, where: { id: m.id, hostId: m.hostId, state: m.state, ...unchanged }, state: 'missing' as const })),
    ...drift.stateDiffers
      .filter((d) => d.database === 'missing')
      .map((d) => ({ id: d.id, where: { id: d.id, hostId: d.hostId, state: 'missing' as const, ...unchanged }, state: d.host })),
  ];
  const moved: string[] = [];
  for (const c of changes) {
    if ((await db.capsul.updateMany({ where: c.where, data: { state: c.state } })).count) moved.push(c.id);
  }
  if (moved.length === 0) return;
  for (const c of await db.capsul.findMany({ where: { id: { in: moved } }, select: { id: true, ownerId: true } })) capsulChanged(c);
}
