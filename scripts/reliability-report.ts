// Writes docs/RELIABILITY.md from the figures the fault suite (test/faults) records in
// test-results/reliability/. Usage: npm run reliability   (runs the suite, then this)
import { readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { FaultFigures } from '../test/support/figures';

const dir = path.resolve('test-results/reliability');
const files = (await readdir(dir).catch(() => [])).filter((f) => f.endsWith('.json')).sort();
if (files.length === 0) {
  console.error('no figures: run the fault suite first (npm test -- test/faults)');
  process.exit(1);
}
const rows = await Promise.all(files.map(async (f) => JSON.parse(await readFile(path.join(dir, f), 'utf8')) as FaultFigures & { at: string }));
const sum = (k: 'faultsInjected' | 'operations' | 'lost' | 'doubled') => rows.reduce((n, r) => n + r[k], 0);
const ms = (v: number) => (v >= 1000 ? `${(v / 1000).toFixed(1)} s` : `${v} ms`);

const doc = `# Reliability

What the fault suite (\`test/faults/\`, part of \`npm test\` and of CI) does to a running Capsul, and what it
found. Every test runs the real processes (hub, spokes, PostgreSQL) and injects the fault for real: kill -9,
SIGSTOP, SIGTERM (a \`systemctl restart\`), a stopped database, a database session terminated, a connection cut
after the hub answered, a network link taken down in a network namespace.

Reproduce: \`npm run reliability\` (as root, with PostgreSQL's binaries installed; it runs the suite and
rewrites this file). Figures from the run of ${rows.map((r) => r.at.slice(0, 10)).sort().at(-1)}.

| fault | faults injected | operations | lost | doubled | worst recovery |
| --- | ---: | ---: | ---: | ---: | ---: |
${rows.map((r) => `| ${r.fault} | ${r.faultsInjected} | ${r.operations} | ${r.lost} | ${r.doubled} | ${r.worstRecoveryMs ? ms(r.worstRecoveryMs) : '—'} |`).join('\n')}
| **all** | **${sum('faultsInjected')}** | **${sum('operations')}** | **${sum('lost')}** | **${sum('doubled')}** | |

"Worst recovery" is from the end of the fault to the system being whole again (every operation closed, the
host back online, the other hub leading); for the claim storm it is the slowest create's time to assignment,
for the black-holed spoke the slowest fan-out.

## Notes per fault

${rows.map((r) => `- **${r.fault}**: ${r.notes ?? ''}`).join('\n')}

## What makes these hold

- **Claims are one conditional UPDATE** (\`src/hub/operations/claim.ts\`): concurrent claims serialise on the
  operation's row and exactly one changes it.
- **Completions are durable and idempotent**: the spoke writes each to disk (write, fsync, rename) before the
  first attempt and retries with capped exponential backoff and jitter until the hub acknowledges
  (\`src/spoke/outbox.ts\`); the hub applies a report once and acknowledges repeats
  (\`src/hub/operations/complete.ts\`).
- **Builds in progress are written down** (\`builds/<operation>.json\` on the spoke): a spoke stopped mid-build
  (SIGTERM or kill -9) settles each journal with the hub when it starts again and finishes the build it owns,
  reusing what is there (\`Hypervisor.resume\`). A hypervisor slow to answer is asked again: recovery never
  destroys a VM, nor takes "no answer" for "no VM".
- **A claim ends definitively** (\`Spoke.claim\`): a claim whose answer was lost (a cut connection, a timeout, a
  hub restarting) is asked again until the hub decides it; the owner's repeated claim is answered with the
  payload.
- **A restart is not a failure**: on SIGTERM a spoke takes no new offers and gives its builds and their
  deliveries \`SPOKE_STOP_GRACE_MS\` (\`src/spoke/server.ts\`); a hub answers new requests 503 while the ones in
  flight, and the spokes' claims they wait on, finish (\`src/hub/drain.ts\`), within \`HUB_STOP_GRACE_MS\`.
- **Contradictions are loud and cleaned up** (\`src/hub/operations/conflict.ts\`): hosts answering against the
  database end the create in \`conflict\`, which keeps its error, and every VM they made is destroyed.
- **Nothing stays open**: the reaper (\`src/hub/operations/reaper.ts\`) fails operations left \`pending\` by a hub
  that stopped mid-call, and checks creates past \`CREATE_DEADLINE_MS\` with \`get\` on their owner (running →
  completed; no VM, not running, or no answer → failed with the reason). A late report from the owner wins
  over the reaper's verdict.
- **A database that cannot be reached is a 503**, promptly (\`src/hub/db/unavailable.ts\`, a 5 s connection
  timeout), never a hang.
- **Periodic work runs once across hubs**, under a PostgreSQL session advisory lock held on a dedicated
  connection (\`src/hub/leader.ts\`); migrations run on a pool of their own that is closed afterwards, since
  the schema engine's own advisory lock would otherwise outlive them on a pooled connection.
- **Per-host deadlines** on every call to a spoke (\`src/hub/operations/fan-out.ts\`), counted from the moment the
  call has a connection to that host (a burst waits for one in the open, \`src/lib/limiter.ts\`); offline hosts
  are named, not asked.
- **One leader loop** (\`src/hub/leader.ts\`): a lost leader connection, whatever events pg emits, starts exactly
  one retry.
`;
await writeFile('docs/RELIABILITY.md', doc);
console.log(`wrote docs/RELIABILITY.md from ${rows.length} fault tests`);
