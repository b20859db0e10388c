// The operator CLI as a process against a real hub (and one fake spoke): its help names the sizes and images
// the hub offers, `list` and `get` agree about a failed capsul, a hub that does not answer is named, `host
// join` warns about a hub URL only this machine can reach, and --json makes every answer and error JSON.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { cliEnv, runCli } from '../support/cli';
import { createTestDatabase } from '../support/postgres';
import { allOnline, freePort, startHubProcess, startSpokeProcess, type Hub, type SpokeHandle } from '../support/processes';
import { makeTestTls, type TestTls } from '../support/tls';

describe('the CLI', () => {
  let tls: TestTls;
  let database: Awaited<ReturnType<typeof createTestDatabase>>;
  let hub: Hub;
  let spoke: SpokeHandle;
  let env: Record<string, string>;
  let deadHub: Record<string, string>;

  before(async () => {
    tls = await makeTestTls();
    database = await createTestDatabase();
    hub = await startHubProcess({ databaseUrl: database.url, tls });
    spoke = await startSpokeProcess({ hub, hostId: 'cli-1', tls, env: { FAKE_IMAGES: 'debian-12' } });
    await allOnline(hub, ['cli-1']);
    env = cliEnv(hub, tls);
    deadHub = { ...env, CAPSUL_HUB_URL: `https://127.0.0.1:${await freePort()}` };
  });
  after(async () => {
    await spoke?.proc.stop();
    await hub?.proc.stop();
    await database?.drop();
  });

  test('--help lists the size and image ids, asked from the hub', async () => {
    const r = await runCli(['--help'], env);
    assert.equal(r.exitCode, 0, r.stderr);
    assert.match(r.stdout, /Sizes \(--size\) on https:\/\/127\.0\.0\.1:\d+:\n {2}nano +Nano: 1 vCPU, 512 MiB, 10 GiB/);
    assert.match(r.stdout, /Images \(--image\):\n {2}debian-12 +Debian 12 \(bookworm\)\n/);
    assert.match(r.stdout, /alpine-3\.20 +Alpine Linux 3\.20 \(unavailable: no online host has image alpine-3\.20\)/);
  });

  test('--help without a hub says why the ids are not there; a command names the URL it tried', async () => {
    const help = await runCli(['--help'], deadHub);
    assert.equal(help.exitCode, 0);
    assert.match(help.stdout, new RegExp(`Sizes and images are listed here when the hub answers; no answer from the hub at ${deadHub.CAPSUL_HUB_URL} \\(.*ECONNREFUSED`));
    const list = await runCli(['list'], deadHub);
    assert.equal(list.exitCode, 1);
    assert.match(list.stderr, new RegExp(`^error: no answer from the hub at ${deadHub.CAPSUL_HUB_URL} \\(.*ECONNREFUSED.*\\): is it running`));
  });

  // A create no host could take leaves its capsul failed (and out of the default list: `list --all` shows it).
  test('list and get agree about a failed capsul: failed, with its error, and get exits 0', async () => {
    const create = await runCli(['create', '--owner', 'cli@example.com', '--image', 'alpine-3.20', '--size', 'nano'], env);
    assert.equal(create.exitCode, 1);
    assert.match(create.stderr, /^error \(.+\): /);
    const listed = JSON.parse((await runCli(['list', '--all', '--json'], env)).stdout) as { id: string; state: string; image: string }[];
    const failed = listed.find((c) => c.image === 'alpine-3.20');
    assert.equal(failed?.state, 'failed');
    const got = await runCli(['get', failed!.id, '--json'], env);
    assert.equal(got.exitCode, 0, got.stderr);
    const detail = JSON.parse(got.stdout);
    assert.equal(detail.state, 'failed');
    assert.equal(detail.id, failed!.id);
    assert.match(detail.error, /./);
    assert.match(detail.onHost, /^not asked/);
  });

  test('get of a running capsul asks its host, and says what the host said', async () => {
    const created = await hub.admin.capsul.create.mutate({ owner: 'cli@example.com', image: 'debian-12', size: 'nano' });
    for (let i = 0; i < 50 && (await hub.admin.capsul.byId.query({ id: created.capsulId })).state !== 'running'; i++) await new Promise((r) => setTimeout(r, 200));
    const got = JSON.parse((await runCli(['get', created.capsulId, '--json'], env)).stdout);
    assert.deepEqual([got.state, got.onHost, got.host], ['running', 'running', 'cli-1']);
    assert.match(got.operationId, /^[0-9a-f-]{36}$/);
  });

  test('--json: every answer parses, and every error is one JSON object on stderr with a code and the exit code', async () => {
    for (const args of [['host', 'list'], ['image', 'list'], ['list'], ['operations', '--limit', '5'], ['fleet', 'list'], ['fleet', 'capacity', '--memory', '512', '--disk', '10'], ['token']]) {
      const r = await runCli([...args, '--json'], env);
      assert.equal(r.exitCode, 0, `${args.join(' ')}: ${r.stderr}`);
      assert.doesNotThrow(() => JSON.parse(r.stdout), `${args.join(' ')} prints JSON`);
    }
    assert.match(JSON.parse((await runCli(['token', '--json'], env)).stdout).token, /^[A-Za-z0-9_-]{43}$/);
    const errors: [string[], Record<string, string>, number, string][] = [
      [['get', 'capsul-zzzzzzzzzz'], env, 1, 'NOT_FOUND'],
      [['create', '--image', 'debian-12'], env, 2, 'USAGE'],
      [['frobnicate'], env, 2, 'USAGE'],
      [['list', '--bogus'], env, 2, 'USAGE'],
      [['list'], deadHub, 1, 'NO_ANSWER'],
    ];
    for (const [args, withEnv, exitCode, code] of errors) {
      const r = await runCli([...args, '--json'], withEnv);
      assert.equal(r.exitCode, exitCode, args.join(' '));
      assert.equal(r.stdout, '', `${args.join(' ')}: nothing on stdout`);
      const { error } = JSON.parse(r.stderr) as { error: { code: string; message: string } };
      assert.equal(error.code, code, args.join(' '));
      assert.match(error.message, /./);
    }
  });

  test('host join warns when the spoke would be told a hub URL only this machine can reach', async () => {
    const local = await runCli(['host', 'join', 'far-1', '10.9.8.7'], env);
    assert.equal(local.exitCode, 0, local.stderr);
    assert.match(local.stderr, /warning: the spoke is told to reach the hub at https:\/\/127\.0\.0\.1:\d+, and on another machine that name is the spoke's own machine: run again with --hub-url/);
    assert.match(local.stdout, /^HUB_URL=https:\/\/127\.0\.0\.1:/m);
    const named = await runCli(['host', 'join', 'far-2', '10.9.8.6', '--hub-url', 'https://hub.example:3000', '--json'], env);
    assert.equal(named.exitCode, 0, named.stderr);
    const joined = JSON.parse(named.stdout);
    assert.equal(joined.hubUrl, 'https://hub.example:3000');
    assert.ok(!joined.warnings.some((w: string) => w.includes('reach the hub')), joined.warnings.join('; '));
  });
});
