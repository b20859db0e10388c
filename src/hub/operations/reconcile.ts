// Reconciliation: the drift report (drift.ts), kept as a row so admins see when it last ran and what it
// found, and what the hosts that answered said about their capsuls written onto them (missing, or back).
// Run periodically by the leading hub, or on demand from the drift page.
import type { Prisma } from '~/generated/prisma/client';
import type { Db } from '../db/client';
import { findDrift, followHosts } from './drift';
import type { Actor } from './record';

export async function reconcile(db: Db, actor: Actor) {
  const startedAt = new Date();
  const drift = await findDrift(db, actor);
  await followHosts(db, drift);
  const j = (v: unknown) => v as Prisma.InputJsonValue;
  return db.reconciliation.create({
    data: {
      actor,
      startedAt,
      finishedAt: new Date(),
      answered: j(drift.answered),
      failed: j([...drift.failed, ...drift.offline.map((o) => ({ hostId: o.hostId, status: 'offline', reason: 'offline' }))]),
      missing: j(drift.missing),
      unknown: j(drift.unknown),
      stateDiffers: j(drift.stateDiffers),
      findings: drift.missing.length + drift.unknown.length + drift.stateDiffers.length,
    },
  });
}
