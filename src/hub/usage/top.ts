// The capsuls that use the most, for operators: by CPU and by traffic (in + out), averaged over the last
// hour or day of raw points.
import type { TopCapsul, TopCapsuls } from '~/contract/usage';
import type { Db } from '../db/client';

type Row = { capsulId: string; cpuPercent: number; trafficBps: number };

export async function topCapsuls(db: Db, range: 'hour' | 'day', limit: number, now = new Date()): Promise<TopCapsuls> {
  const from = new Date(now.getTime() - (range === 'hour' ? 3_600_000 : 86_400_000));
  const rows = await db.$queryRaw<Row[]>`
    SELECT "capsulId", (sum("cpuPercent" * "seconds") / sum("seconds"))::float8 AS "cpuPercent",
           (sum(("netInBps" + "netOutBps") * "seconds") / sum("seconds"))::float8 AS "trafficBps"
      FROM "CapsulUsage" WHERE "step" = 0 AND "at" >= ${from} GROUP BY "capsulId"`;
  const pick = (by: keyof Omit<Row, 'capsulId'>) => [...rows].sort((a, b) => b[by] - a[by]).slice(0, limit);
  const [byCpu, byTraffic] = [pick('cpuPercent'), pick('trafficBps')];
  const ids = [...new Set([...byCpu, ...byTraffic].map((r) => r.capsulId))];
  const capsuls = await db.capsul.findMany({ where: { id: { in: ids } }, select: { id: true, name: true, hostId: true, owner: { select: { email: true } } } });
  const named = (r: Row): TopCapsul[] => {
    const c = capsuls.find((x) => x.id === r.capsulId);
    return c ? [{ id: c.id, name: c.name, ownerEmail: c.owner.email, hostId: c.hostId, cpuPercent: r.cpuPercent, trafficBps: r.trafficBps }] : [];
  };
  return { byCpu: byCpu.flatMap(named), byTraffic: byTraffic.flatMap(named) };
}
