// Usage history's cost, in `npm run bench`:
// - Ingest: `hosts` simulated spokes with `capsulsPerHost` capsuls each send one point each per round (what
//   they send every 15 s), against the same spokes' heartbeats as the floor, rounds interleaved; the hub
//   process's CPU per round (from /proc) as a share of a 15-s period, and the rows and transactions written.
// - Graphs: a capsul with a month of history (a day of raw points every 15 s, 30 days of 5-minute averages,
//   a year of hourly ones): the capsul page's server render plus its `usage.capsul` month query, against the
//   same for a capsul with no history.
// - Size: bytes per stored row, and so what a year of history for 1 000 capsuls takes.
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import pg from 'pg';
import { CAPSUL_METRICS, type UsageRange } from '~/contract/usage';
import { httpsFetch } from '~/lib/https-fetch';
import { createHubClient, type HubClient } from '~/spoke/hub-client';
import { signIn } from '../../test/support/accounts';
import { startHubProcess } from '../../test/support/processes';
import type { TestTls } from '../../test/support/tls';
import { median, type Figure } from './stats';

const PERIOD_S = 15;
const ROWS_PER_CAPSUL_YEAR = (24 * 3600) / PERIOD_S + 30 * 288 + 365 * 24;

async function cpuSeconds(pid: number): Promise<number> {
  const fields = (await readFile(`/proc/${pid}/stat`, 'utf8')).split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100; // utime + stime, in clock ticks of 10 ms
}

export async function benchUsage(databaseUrl: string, tls: TestTls, n: { hosts: number; capsulsPerHost: number; rounds: number; renders: number }) {
  const figures: Figure[] = [];
  const notes: string[] = [];
  const hub = await startHubProcess({ databaseUrl, tls, env: { HEARTBEAT_PERIOD_MS: '3600000', RECONCILE_PERIOD_MS: '3600000', USAGE_ROLLUP_PERIOD_MS: '3600000', ONLINE_WINDOW_MS: '3600000' } });
  const sql = new pg.Client({ connectionString: databaseUrl });
  await sql.connect();
  const fetch = httpsFetch({ ca: readFileSync(tls.caFile), connectionsPerPeer: 100 });
  try {
    const session = await signIn(hub, tls, 'usage@example.com');
    const owner = (await sql.query(`SELECT id FROM "Account" WHERE email = 'usage@example.com'`)).rows[0].id as string;
    const hosts: { id: string; client: HubClient; capsuls: string[] }[] = [];
    for (let h = 0; h < n.hosts; h++) {
      const id = `usage-${h + 1}`;
      const added = await hub.admin.host.add.mutate({ id, httpsUrl: `https://127.0.0.1:${20000 + h}` });
      hosts.push({ id, client: createHubClient({ hubUrl: hub.url, hostId: id, hostToken: added.token, fetch, timeoutMs: 30_000 }), capsuls: [] });
    }
    await sql.query(`INSERT INTO "Capsul" (id, name, "ownerId", "hostId", vcpus, "memoryMb", "diskGb", image, state, "createdAt", "updatedAt")
      SELECT 'capsul-' || lpad(to_hex(g), 10, '0'), 'u-' || g, $1, 'usage-' || ((g - 1) / $3::int + 1), 1, 512, 10, 'debian-12', 'running', now() - interval '400 days', now()
        FROM generate_series(1, $2::int) g`, [owner, n.hosts * n.capsulsPerHost, n.capsulsPerHost]);
    for (const [g, h] of Array.from({ length: n.hosts * n.capsulsPerHost }, (_, i) => [i + 1, Math.floor(i / n.capsulsPerHost)] as const)) {
      hosts[h]!.capsuls.push(`capsul-${g.toString(16).padStart(10, '0')}`);
    }

    // Ingest against heartbeats, round by round.
    const host = { cpuPercent: 30, memoryUsedBytes: 8e9, memoryTotalBytes: 64e9, diskUsedBytes: 1e11, diskTotalBytes: 2e12 };
    const ingestRound = () => Promise.all(hosts.map((h) => h.client.spoke.reportUsage.mutate({
      points: [{ at: new Date(), seconds: PERIOD_S, host, capsuls: h.capsuls.map((id) => ({ id, cpuPercent: Math.random() * 100, memoryBytes: 3e8, netInBps: 1e4, netOutBps: 5e4, diskReadBps: 1e3, diskWriteBps: 4e3 })) }],
    })));
    const heartbeatRound = () => Promise.all(hosts.map((h) => h.client.spoke.heartbeat.mutate({ driver: 'fake', freeMemoryMb: 50_000, freeDiskGb: 1000, images: { ids: '*' } })));
    const rowsStored = async () => (await sql.query(`SELECT ((SELECT count(*) FROM "CapsulUsage") + (SELECT count(*) FROM "HostUsage"))::int AS n`)).rows[0].n as number;
    const pid = hub.proc.child.pid!;
    await ingestRound();
    await heartbeatRound();
    const ingestCpu: number[] = [];
    const heartbeatCpu: number[] = [];
    const rowsBefore = await rowsStored();
    for (let r = 0; r < n.rounds; r++) {
      let t = await cpuSeconds(pid);
      await ingestRound();
      ingestCpu.push((await cpuSeconds(pid)) - t);
      t = await cpuSeconds(pid);
      await heartbeatRound();
      heartbeatCpu.push((await cpuSeconds(pid)) - t);
    }
    const rowsPerRound = ((await rowsStored()) - rowsBefore) / n.rounds;
    const ms = (s: number[]) => s.map((x) => x * 1000);
    figures.push({
      name: `usage ingest: ${n.hosts} spokes × ${n.capsulsPerHost} capsuls, one round (hub CPU)`, floorName: `the same ${n.hosts} spokes' heartbeats`,
      unit: 'ms', samples: ms(ingestCpu), floor: ms(heartbeatCpu),
    });
    notes.push(
      `Usage ingest, ${n.hosts} spokes × ${n.capsulsPerHost} capsuls every ${PERIOD_S} s: the hub spends ${(median(ingestCpu) * 1000).toFixed(0)} ms of CPU per round (median), ` +
        `${((median(ingestCpu) / PERIOD_S) * 100).toFixed(2)} % of one core (heartbeats of the same spokes: ${(median(heartbeatCpu) * 1000).toFixed(0)} ms); ` +
        `the database takes ${rowsPerRound.toFixed(0)} rows per round in ${n.hosts} transactions (one per batch, two inserts each), ` +
        `${(rowsPerRound / PERIOD_S).toFixed(0)} rows/s and ${(n.hosts / PERIOD_S).toFixed(1)} transactions/s.`,
    );

    // A capsul with a month of history (and a year of hourly points), and one with none.
    const [full, empty] = [hosts[0]!.capsuls[0]!, hosts[0]!.capsuls[1]!];
    await sql.query(`DELETE FROM "CapsulUsage" WHERE "capsulId" IN ($1, $2)`, [full, empty]);
    const metrics = CAPSUL_METRICS.map((m) => `"${m}"`).join(', ');
    const seed = (step: number, every: string, span: string) =>
      sql.query(`INSERT INTO "CapsulUsage" ("capsulId", step, at, seconds, ${metrics})
        SELECT $1, $2::int, t, $3::real, 20 + 10 * sin(extract(epoch FROM t) / 3600), 3e8, 1e4, 5e4, 1e3, 4e3
          FROM generate_series(date_trunc('hour', now()) - interval '${span}', now() - interval '1 minute', interval '${every}') t`, [full, step, step || PERIOD_S]);
    await seed(0, '15 seconds', '24 hours');
    await seed(300, '5 minutes', '30 days');
    await seed(3600, '1 hour', '365 days');
    await sql.query('ANALYZE "CapsulUsage"');
    const timed = async <T>(work: () => Promise<T>) => {
      const t = performance.now();
      const value = await work();
      return { ms: performance.now() - t, value };
    };
    const page = (id: string) => timed(async () => {
      const res = await session.fetch(`${hub.url}/capsuls/${id}`, { headers: { cookie: session.cookie } });
      await res.text();
      if (res.status !== 200) throw new Error(`/capsuls/${id}: ${res.status}`);
    });
    const graph = (id: string, range: UsageRange) => timed(() => session.client.usage.capsul.query({ capsulId: id, range }));
    const check = await graph(full, 'month');
    if (check.value.values.cpuPercent.filter((v) => v !== null).length < 700) throw new Error('the month graph does not show the month seeded');
    for (let i = 0; i < 3; i++) await Promise.all([page(full), page(empty)]); // the first renders compile the route
    const withHistory: number[] = [];
    const without: number[] = [];
    const byRange: Record<UsageRange, number[]> = { hour: [], day: [], month: [], year: [] };
    for (let i = 0; i < n.renders; i++) {
      const [a, b] = await Promise.all([page(full), graph(full, 'month')]);
      withHistory.push(Math.max(a.ms, b.ms));
      const [c, d] = await Promise.all([page(empty), graph(empty, 'month')]);
      without.push(Math.max(c.ms, d.ms));
      for (const range of Object.keys(byRange) as UsageRange[]) byRange[range].push((await graph(full, range)).ms);
    }
    figures.push({ name: 'capsul page with a month of history: page render and its month graph (server)', floorName: 'the same for a capsul with no history', unit: 'ms', samples: withHistory, floor: without });
    notes.push(
      `Capsul graphs, one query each (median): ${Object.entries(byRange).map(([r, s]) => `${r} ${median(s).toFixed(0)} ms`).join(', ')}; ` +
        `the page with its month graph ${median(withHistory).toFixed(0)} ms (target ≤ 200 ms), ${check.value.at.length} points in the month.`,
    );

    const size = (await sql.query(`SELECT pg_total_relation_size('"CapsulUsage"')::float8 AS bytes, (SELECT count(*) FROM "CapsulUsage")::float8 AS n`)).rows[0];
    const perRow = size.bytes / size.n;
    notes.push(
      `Size: ${perRow.toFixed(0)} bytes per CapsulUsage row with its indexes (${size.n} rows); a year for 1 000 capsuls at the default retention ` +
        `(${ROWS_PER_CAPSUL_YEAR} rows each: a day raw, 30 days of 5-minute, a year hourly) is ${((perRow * ROWS_PER_CAPSUL_YEAR * 1000) / 1024 ** 3).toFixed(1)} GiB.`,
    );
  } finally {
    await sql.end();
    await hub.proc.stop();
  }
  return { figures, notes };
}
