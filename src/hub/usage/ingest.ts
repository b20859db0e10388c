// `spoke.reportUsage`: a host's batch of usage points, stored as raw rows (step 0) of CapsulUsage and
// HostUsage. The whole batch is checked before anything is written, and written in one transaction: a point
// stamped ahead of the hub's clock, a capsul named twice in a point, or a capsul that is not this host's, refuses the batch and stores
// nothing. A batch sent again (its answer was lost) stores nothing twice: the rows' keys are the same.
import { TRPCError } from '@trpc/server';
import { USAGE_FUTURE_SKEW_MS, USAGE_MAX_AGE_MS, type ReportUsageInput } from '~/contract/usage';
import type { Db } from '../db/client';

const MIB = 1024 * 1024;
const GIB = 1024 * MIB;

export async function ingestUsage(db: Db, hostId: string, input: ReportUsageInput, now = new Date()): Promise<{ stored: number }> {
  for (const point of input.points) {
    const ahead = point.at.getTime() - now.getTime();
    if (ahead > USAGE_FUTURE_SKEW_MS) {
      throw new TRPCError({ code: 'BAD_REQUEST', message: `a point is stamped ${point.at.toISOString()}, ${Math.round(ahead / 1000)} s ahead of the hub's clock (at most ${USAGE_FUTURE_SKEW_MS / 1000} s): check the host's clock` });
    }
    const ids = point.capsuls.map((c) => c.id);
    if (new Set(ids).size !== ids.length) throw new TRPCError({ code: 'BAD_REQUEST', message: `a point at ${point.at.toISOString()} names a capsul twice` });
  }
  // Points older than the rollups look back are left out (a lost point is acceptable; a late one would be
  // missing from the averages already made).
  const points = input.points.filter((p) => now.getTime() - p.at.getTime() <= USAGE_MAX_AGE_MS);
  const ids = [...new Set(input.points.flatMap((p) => p.capsuls.map((c) => c.id)))];
  // The host's capsuls, as this database has them: which it may report on, and what they were given.
  const theirs = await db.capsul.findMany({ where: { hostId, deletedAt: null, state: { notIn: ['failed', 'deleted'] } }, select: { id: true, memoryMb: true, diskGb: true } });
  const known = new Set(theirs.map((c) => c.id));
  const others = ids.filter((id) => !known.has(id));
  if (others.length) {
    throw new TRPCError({
      code: 'FORBIDDEN',
      message: `not capsuls of host ${hostId}: ${others.slice(0, 20).join(', ')}${others.length > 20 ? ` and ${others.length - 20} more` : ''}; nothing stored`,
    });
  }
  const memoryCommittedBytes = theirs.reduce((sum, c) => sum + c.memoryMb, 0) * MIB;
  const diskCommittedBytes = theirs.reduce((sum, c) => sum + c.diskGb, 0) * GIB;

  const capsulRows = points.flatMap((p) => p.capsuls.map(({ id, ...rates }) => ({ capsulId: id, step: 0, at: p.at, seconds: p.seconds, ...rates })));
  const hostRows = points.map((p) => ({ hostId, step: 0, at: p.at, seconds: p.seconds, ...p.host, memoryCommittedBytes, diskCommittedBytes }));
  const [capsuls] = await db.$transaction([
    db.capsulUsage.createMany({ data: capsulRows, skipDuplicates: true }),
    db.hostUsage.createMany({ data: hostRows, skipDuplicates: true }),
  ]);
  return { stored: capsuls.count };
}
