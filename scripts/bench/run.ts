// `npm run bench`: how much does the hub add? Every figure against a floor measured in the same run, on the
// same machine, under the same load. Writes the figures into docs/BENCHMARKS.md (between its markers).
// `npm run bench -- --quick`: small numbers, written to test-results/bench/, to prove the benchmark still runs.
import { readFileSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { createTRPCClient, httpLink } from '@trpc/client';
import pg from 'pg';
import superjson from 'superjson';
import { execa } from 'execa';
import { createHubAdminClient } from '~/cli/hub-admin-client';
import { httpsFetch } from '~/lib/https-fetch';
import type { SpokeRouter } from '~/spoke/router';
import { signIn, type Session } from '../../test/support/accounts';
import { createTestDatabase } from '../../test/support/postgres';
import { startPrivatePostgres } from '../../test/support/private-postgres';
import { allOnline, startHubProcess, startSpokeProcess, type Hub, type SpokeHandle } from '../../test/support/processes';
import { makeTestTls, type TestTls } from '../../test/support/tls';
import { benchConsole } from './console';
import { benchUsage } from './usage';
import { median, p99, row, TABLE_HEAD, type Figure } from './stats';

const quick = process.argv.includes('--quick');
const N = quick
  ? { iterations: 20, burst: 50, burstSpokes: 5, fanOutSpokes: [1, 5], deadIterations: 3, renders: 5, capsuls: 200, keystrokes: 50, consoleBytes: 1024 * 1024, consoleRounds: 2, usageHosts: 50, usageRounds: 3 }
  : { iterations: 200, burst: 500, burstSpokes: 5, fanOutSpokes: [1, 10, 50], deadIterations: 10, renders: 30, capsuls: 1000, keystrokes: 1000, consoleBytes: 10 * 1024 * 1024, consoleRounds: 5, usageHosts: 50, usageRounds: 20 };
const DEADLINE = 1000;
const FAKE = { FAKE_MEMORY_MB: '100000000', FAKE_DISK_GB: '100000000', FAKE_CREATE_MS: '50' };

const figures: Figure[] = [];
const notes: string[] = [];
const say = (line: string) => process.stderr.write(`bench: ${line}\n`);

function rssMb(pid: number): Promise<number> {
  return readFile(`/proc/${pid}/status`, 'utf8').then((s) => Number(/VmRSS:\s+(\d+) kB/.exec(s)?.[1] ?? 0) / 1024);
}

async function startSpokes(hub: Hub, tls: TestTls, ids: string[]): Promise<SpokeHandle[]> {
  const started: SpokeHandle[] = [];
  for (let i = 0; i < ids.length; i += 10) {
    started.push(...(await Promise.all(ids.slice(i, i + 10).map((hostId) => startSpokeProcess({ hub, hostId, tls, env: FAKE })))));
  }
  await allOnline(hub, ids, 120_000);
  return started;
}

/**
 * Create → assigned against its floor, interleaved iteration by iteration inside the hub (`bench.create`):
 * the protocol's nested round trip made bare (hub → every spoke's `heartbeat` in parallel → each spoke's
 * `spoke.heartbeat` to the hub, one row written), that is one offer and one claim round trip, plus one
 * database write. With one spoke that is the protocol's minimum; with several, the same round trips made bare.
 */
async function createFigure(hub: Hub, spokes: number) {
  say(`create → assigned, ${spokes} spoke${spokes > 1 ? 's' : ''}`);
  const { hosts, creates, roundTrips, write } = await hub.admin.bench.create.mutate({ iterations: N.iterations });
  if (hosts !== spokes) throw new Error(`expected ${spokes} spokes online, found ${hosts}`);
  const floor = roundTrips.map((r, i) => r + write[i]!);
  const each = spokes > 1 ? `, to each of ${spokes} in parallel,` : '';
  const name = `create → assigned, ${spokes} spoke${spokes > 1 ? 's' : ''} (inside the hub)`;
  figures.push({ name, floorName: `offer RTT + claim RTT${each} + 1 DB write`, unit: 'ms', samples: creates, floor, target: { median: 1.3 } });
  notes.push(`Create floor parts with ${spokes} spoke${spokes > 1 ? 's' : ''} (medians): offer + claim round trip ${median(roundTrips).toFixed(2)} ms, database write ${median(write).toFixed(2)} ms.`);
}

async function claimsAndConsole(databaseUrl: string, tls: TestTls) {
  const hub = await startHubProcess({ databaseUrl, tls, env: { BENCH_MODE: 'true', SPOKE_CALL_TIMEOUT_MS: '30000', HEARTBEAT_PERIOD_MS: '5000', ONLINE_WINDOW_MS: '60000' } });
  const ids = Array.from({ length: N.burstSpokes }, (_, i) => `claim-${i + 1}`);
  const spokes = await startSpokes(hub, tls, ids.slice(0, 1));
  try {
    await createFigure(hub, 1);
    spokes.push(...(await startSpokes(hub, tls, ids.slice(1))));
    await createFigure(hub, N.burstSpokes);

    say(`${N.burst} concurrent creates over ${N.burstSpokes} spokes`);
    // Many callers at once, as a busy console would have: a connection each (up to 100), not 8 in turn.
    const burstClient = createHubAdminClient({ hubUrl: hub.url, adminToken: hub.adminToken, ca: await readFile(tls.caFile), connections: 100 });
    const latencies: number[] = [];
    const started = performance.now();
    await Promise.all(
      Array.from({ length: N.burst }, async () => {
        const t = performance.now();
        await burstClient.capsul.create.mutate({ owner: 'burst@example.com', image: 'debian-12', size: 'nano' });
        latencies.push(performance.now() - t);
      }),
    );
    const seconds = (performance.now() - started) / 1000;
    const sql = new pg.Client({ connectionString: databaseUrl });
    await sql.connect();
    let session: Session;
    try {
      const doubled = (await sql.query(`SELECT count(*)::int AS n FROM (SELECT h."operationId" FROM "HostOperation" h JOIN "Operation" o ON o.id = h."operationId"
        WHERE o.kind = 'create' AND h."assignmentStatus" = 'assigned' GROUP BY h."operationId" HAVING count(*) > 1) d`)).rows[0].n as number;
      if (doubled > 0) throw new Error(`${doubled} creates of the burst have more than one owner`);
      notes.push(`${N.burst} concurrent creates over ${N.burstSpokes} spokes (up to 100 connections): ${(N.burst / seconds).toFixed(1)} creates/s, create → assigned median ${median(latencies).toFixed(0)} ms, p99 ${p99(latencies).toFixed(0)} ms (seen by the client), ${doubled} double owners.`);

      say(`console render with ${N.capsuls} capsuls`);
      session = await signIn(hub, tls, 'many@example.com');
      const account = (await sql.query(`SELECT id FROM "Account" WHERE email = 'many@example.com'`)).rows[0].id as string;
      await sql.query(`INSERT INTO "Capsul" (id, name, "ownerId", vcpus, "memoryMb", "diskGb", image, state, ipv4, "createdAt", "updatedAt")
        SELECT 'capsul-' || lpad(to_hex(g), 10, '0'), 'web-' || g, $1, 1, 512, 10, 'debian-12', 'running', '10.0.' || (g / 250) || '.' || (g % 250 + 1), now(), now()
        FROM generate_series(1, $2::int) g`, [account, N.capsuls]);
    } finally {
      // Left open, a failed query would show as the connection's error when the server stops.
      await sql.end();
    }
    const page = async (p: string) => {
      const t = performance.now();
      const res = await session.fetch(`${hub.url}${p}`, { headers: { cookie: session.cookie } });
      const body = await res.text();
      if (res.status !== 200) throw new Error(`${p}: ${res.status}`);
      return { ms: performance.now() - t, body };
    };
    const rendered = await page('/capsuls');
    if ((rendered.body.match(/data-capsul=/g) ?? []).length !== N.capsuls) throw new Error('the page does not show every capsul');
    const list: number[] = [];
    const login: number[] = [];
    for (let i = 0; i < N.renders; i++) {
      list.push((await page('/capsuls')).ms);
      login.push((await page('/login')).ms);
    }
    figures.push({ name: `console: /capsuls with ${N.capsuls} capsuls, server render`, floorName: 'a static page (/login)', unit: 'ms', samples: list, floor: login });
    notes.push(`Console: the capsul list with ${N.capsuls} capsuls renders in ${median(list).toFixed(0)} ms median (target ≤ 200 ms), ${(rendered.body.length / 1024).toFixed(0)} KiB of HTML.`);
  } finally {
    await Promise.all(spokes.map((s) => s.proc.stop()));
    await hub.proc.stop();
  }
}

async function fanOuts(databaseUrl: string, tls: TestTls) {
  const hub = await startHubProcess({ databaseUrl, tls, env: { BENCH_MODE: 'true', SPOKE_CALL_TIMEOUT_MS: String(DEADLINE), HEARTBEAT_PERIOD_MS: '5000', ONLINE_WINDOW_MS: '120000' } });
  const spokes: SpokeHandle[] = [];
  try {
    await new Promise((r) => setTimeout(r, 3000));
    const idleRss = await rssMb(hub.proc.child.pid!);
    for (const n of N.fanOutSpokes) {
      const more = Array.from({ length: n - spokes.length }, (_, i) => `fan-${spokes.length + i + 1}`);
      spokes.push(...(await startSpokes(hub, tls, more)));
      for (const kind of ['capacityAvailable', 'list'] as const) {
        say(`fan-out ${kind} across ${n}`);
        // A p99 of 200 samples is their second-worst, one stray pause; where a call is quick, take 1 000.
        const iterations = quick || n >= 50 ? N.iterations : 1000;
        const r = await hub.admin.bench.fanOut.mutate({ kind, iterations, warmup: 20 });
        figures.push({ name: `fan-out ${kind}, ${r.hosts} spoke${r.hosts > 1 ? 's' : ''} (inside the hub)`, floorName: 'bare parallel client, same process', unit: 'ms', samples: r.module, floor: r.floor, target: { median: 1.2, p99: 1.5 } });
      }
      if (n === 1) {
        say('through the hub vs straight to the spoke');
        const direct = createSpokeTiming(spokes[0]!, hub, tls);
        const through: number[] = [];
        const straight: number[] = [];
        for (let i = 0; i < 10 + N.iterations; i++) {
          const t = performance.now();
          await hub.admin.fleet.list.mutate();
          const a = performance.now() - t;
          const b = await direct();
          if (i >= 10) {
            through.push(a);
            straight.push(b);
          }
        }
        figures.push({ name: 'list through the hub\'s HTTPS API (1 spoke), client-side', floorName: 'the same call straight to the spoke', unit: 'ms', samples: through, floor: straight });
      }
      if (n >= 5 && !notes.some((x) => x.startsWith('Dead spoke'))) {
        say(`dead spoke among ${n}`);
        const silent = spokes[Math.floor(n / 2)]!;
        silent.proc.child.kill('SIGSTOP');
        try {
          const r = await hub.admin.bench.fanOut.mutate({ kind: 'list', iterations: N.deadIterations, warmup: 1 });
          const worst = Math.max(...r.module);
          figures.push({ name: `fan-out list, ${n} spokes, one black-holed (inside the hub)`, floorName: `bare client, same ${DEADLINE} ms deadline`, unit: 'ms', samples: r.module, floor: r.floor });
          notes.push(`Dead spoke: with ${silent.hostId} stopped (SIGSTOP: it accepts connections and never answers), fan-outs across ${n} spokes answered in ${median(r.module).toFixed(0)} ms median, ${worst.toFixed(0)} ms at worst, against a ${DEADLINE} ms per-host deadline (target: deadline + 50 ms = ${DEADLINE + 50} ms) ${worst <= DEADLINE + 50 ? 'met' : 'MISSED'}.`);
        } finally {
          silent.proc.child.kill('SIGCONT');
        }
      }
    }
    await new Promise((r) => setTimeout(r, 12_000)); // a few heartbeat rounds across every spoke
    const busyRss = await rssMb(hub.proc.child.pid!);
    notes.push(`Hub resident memory: ${idleRss.toFixed(0)} MiB idle with no spoke, ${busyRss.toFixed(0)} MiB with ${spokes.length} spokes heartbeating (every 5 s) after the fan-out runs.`);
  } finally {
    await Promise.all(spokes.map((s) => s.proc.stop()));
    await hub.proc.stop();
  }
}

/** A bare client straight to one spoke, timed per call. */
function createSpokeTiming(spoke: SpokeHandle, hub: Hub, tls: TestTls) {
  const client = createTRPCClient<SpokeRouter>({
    links: [httpLink({ url: `${spoke.url}/trpc`, transformer: superjson, fetch: httpsFetch({ ca: readFileSync(tls.caFile) }), headers: { authorization: `Bearer ${spoke.hubToken}` } })],
  });
  return async () => {
    const t = performance.now();
    await client.list.query();
    return performance.now() - t;
  };
}

async function main() {
  const started = Date.now();
  const tls = await makeTestTls();
  const db = await startPrivatePostgres();
  try {
    const server = new URL(db.url);
    server.pathname = '/postgres';
    await claimsAndConsole((await createTestDatabase(server.toString())).url, tls);
    await fanOuts((await createTestDatabase(server.toString())).url, tls);
    say('serial console: keystroke echo and throughput, through the hub vs direct');
    const consoleRun = await benchConsole((await createTestDatabase(server.toString())).url, tls, { keystrokes: N.keystrokes, bytes: N.consoleBytes, rounds: N.consoleRounds });
    figures.push(...consoleRun.figures);
    notes.push(...consoleRun.notes);
    say(`usage history: ingest from ${N.usageHosts} spokes, a month of graphs`);
    const usage = await benchUsage((await createTestDatabase(server.toString())).url, tls, { hosts: N.usageHosts, capsulsPerHost: 20, rounds: N.usageRounds, renders: N.renders });
    figures.push(...usage.figures);
    notes.push(...usage.notes);
  } finally {
    await db.stop();
  }
  if (!quick) {
    say('real create (libvirt)');
    const { benchRealCreate } = await import('./real-create');
    const real = await benchRealCreate();
    figures.push(real.figure);
    notes.push(`Real create: ${real.notes}.`);
  }
  say('real changes (libvirt)');
  const { benchRealChanges } = await import('./real-changes');
  const changes = await benchRealChanges(quick ? 1 : 5);
  figures.push(...changes.figures);
  notes.push(...changes.notes);
  const cpu = (await execa('sh', ['-c', "grep -m1 'model name' /proc/cpuinfo | cut -d: -f2"])).stdout.trim();
  const block = [
    '<!-- figures:start (written by `npm run bench`; edit outside the markers) -->',
    `Run ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC${quick ? ' (quick mode)' : ''}, ${Math.round((Date.now() - started) / 1000)} s, on ${cpu}, 2 cores. Medians and p99 over the runs given; ratio = figure / floor.`,
    '',
    TABLE_HEAD,
    ...figures.map(row),
    '',
    ...notes.map((n) => `- ${n}`),
    '<!-- figures:end -->',
  ].join('\n');
  const out = quick ? path.resolve('test-results/bench/BENCHMARKS.md') : path.resolve('docs/BENCHMARKS.md');
  await mkdir(path.dirname(out), { recursive: true });
  const current = await readFile(out, 'utf8').catch(() => '');
  const next = /<!-- figures:start[\s\S]*<!-- figures:end -->/.test(current)
    ? current.replace(/<!-- figures:start[\s\S]*<!-- figures:end -->/, block)
    : `# Benchmarks\n\n${block}\n`;
  await writeFile(out, next);
  process.stdout.write(`${block}\n\nwritten to ${path.relative(process.cwd(), out)}\n`);
  process.exit(0);
}

await main();
