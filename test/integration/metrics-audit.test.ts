// Running a fleet: Prometheus metrics on hub and spoke (behind a token, or on a private plain-HTTP address),
// and the audit trail: every operation's who, what, hosts, statuses, results and timing from the CLI, with
// its id on every log line of its work, on the hub and on the spoke.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { execa } from 'execa';
import { httpsFetch } from '~/lib/https-fetch';
import { newToken } from '~/lib/tokens';
import { createTestDatabase } from '../support/postgres';
import { allOnline, freePort, ROOT, startHubProcess, startSpokeProcess, until, type Hub, type SpokeHandle } from '../support/processes';
import { makeTestTls, type TestTls } from '../support/tls';

const METRICS_TOKEN = newToken();

describe('metrics and audit', () => {
  let tls: TestTls;
  let database: Awaited<ReturnType<typeof createTestDatabase>>;
  let hub: Hub;
  let spoke: SpokeHandle;
  let metricsPort: number;

  before(async () => {
    tls = await makeTestTls();
    database = await createTestDatabase();
    metricsPort = await freePort();
    hub = await startHubProcess({ databaseUrl: database.url, tls, env: { METRICS_TOKEN, METRICS_ADDRESS: `127.0.0.1:${metricsPort}` } });
    spoke = await startSpokeProcess({ hub, hostId: 'obs-1', tls, env: { METRICS_TOKEN } });
    await allOnline(hub, ['obs-1']);
  });
  after(async () => {
    await spoke?.proc.stop();
    await hub?.proc.stop();
    await database?.drop();
  });

  test('hub and spoke metrics: refused without the token, served with it and on the private address', async () => {
    const created = await hub.admin.capsul.create.mutate({ owner: 'obs@example.com', image: 'debian-12', size: 'nano' });
    await until('running', async () => (await hub.admin.capsul.byId.query({ id: created.capsulId })).state === 'running');
    await hub.admin.fleet.list.mutate();
    const fetch = httpsFetch({ ca: readFileSync(tls.caFile) });
    for (const url of [`${hub.url}/metrics`, `${spoke.url}/metrics`]) {
      assert.equal((await fetch(url)).status, 401, `${url} without a token`);
      assert.equal((await fetch(url, { headers: { authorization: `Bearer ${newToken()}` } })).status, 401);
    }
    const hubMetrics = await (await fetch(`${hub.url}/metrics`, { headers: { authorization: `Bearer ${METRICS_TOKEN}` } })).text();
    assert.match(hubMetrics, /^capsul_operations_total\{kind="create",outcome="assigned"\} 1$/m);
    assert.match(hubMetrics, /^capsul_operations_total\{kind="create",outcome="completed"\} 1$/m);
    assert.match(hubMetrics, /^capsul_operations_total\{kind="list",outcome="completed"\} 1$/m);
    assert.match(hubMetrics, /^capsul_hosts\{online="true"\} 1$/m);
    assert.match(hubMetrics, /^capsul_capsuls\{state="running"\} 1$/m);
    assert.match(hubMetrics, /^capsul_fanout_seconds_count\{procedure="create"\} 1$/m);
    assert.match(hubMetrics, /^capsul_claim_seconds_count\{outcome="won"\} 1$/m);
    assert.match(hubMetrics, /^capsul_host_call_seconds_bucket\{le="\+Inf",procedure="create",result="ok"\} 1$/m);
    // prom-client's default metrics come with it: process, event-loop lag, GC.
    assert.match(hubMetrics, /^nodejs_eventloop_lag_seconds \d/m);
    assert.match(hubMetrics, /^process_cpu_seconds_total \d/m);
    const plain = await (await globalThis.fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
    assert.match(plain, /^# TYPE capsul_operations_total counter$/m);
    const spokeMetrics = await (await fetch(`${spoke.url}/metrics`, { headers: { authorization: `Bearer ${METRICS_TOKEN}` } })).text();
    assert.match(spokeMetrics, /^capsul_spoke_free\{resource="memory_mb"\} \d+$/m);
    assert.match(spokeMetrics, /^capsul_spoke_free\{resource="disk_gb"\} \d+$/m);
  });

  test('an operation, from the CLI in full; its id on every line of its work, on the hub and on the spoke', async () => {
    const [capsul] = await hub.admin.capsul.list.query({});
    const { operationId } = await hub.admin.capsul.setState.mutate({ id: capsul!.id, command: 'restart' });
    const cli = await execa('npm', ['run', '-s', 'capsul', '--', 'operation', operationId], {
      cwd: ROOT,
      env: { CAPSUL_HUB_URL: hub.url, HUB_ADMIN_TOKEN: hub.adminToken, TLS_CA_FILE: tls.caFile },
    });
    assert.match(cli.stdout, new RegExp(`^operation ${operationId}: restart by cli, completed$`, 'm'));
    assert.match(cli.stdout, /^capsul capsul-[a-z0-9]{10} \([a-z0-9-]+\), owner obs-1, started .*, took \d+ ms$/m);
    assert.match(cli.stdout, /"command":"restart"/);
    assert.match(cli.stdout, /obs-1\s+assigned\s+\d+ ms\s+-\s+\{"state":"running"\}/);
    const hubLines = hub.proc.logs().split('\n').filter((l) => l.includes(operationId));
    const spokeLines = spoke.proc.logs().split('\n').filter((l) => l.includes(operationId));
    assert.ok(hubLines.some((l) => l.includes('"msg":"operation finished"')), 'the hub logs it');
    assert.ok(spokeLines.some((l) => l.includes('"msg":"hub call"') && l.includes('"procedure":"vmState"')), 'the spoke logs it');
    for (const line of [...hubLines, ...spokeLines]) assert.doesNotThrow(() => JSON.parse(line), 'structured JSON');
  });
});
