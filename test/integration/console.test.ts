// The serial console end to end on the fake driver: a hub and a spoke as separate processes over HTTPS, on
// PostgreSQL. The owner gets a ticket, opens the hub's WebSocket with the session cookie and the right Origin,
// sees the (simulated) boot banner from the spoke's boot log, types `hostname` and reads the capsul id back;
// the session is recorded. Refused, with nothing attached: another account, a reused ticket, a wrong Origin,
// no session, the spoke's WebSocket without (or with a wrong) hub token, an id that is not one, a capsul the
// spoke does not have. Oversized frames and garbage close the session with a reason; both ends live on.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { TRPCClientError } from '@trpc/client';
import pg from 'pg';
import { execa } from 'execa';
import { WebSocket } from 'ws';
import { CLOSE, HUB_CONSOLE_PATH, parseControl, TICKET_PARAM } from '~/contract/console';
import { consoleFigures } from '../../scripts/bench/console';
import { connectConsole, type ConsoleStatus, type SocketLike } from '~/contract/console-client';
import { signIn, type Session } from '../support/accounts';
import { createTestDatabase } from '../support/postgres';
import { cliEnv } from '../support/cli';
import { allOnline, ROOT, startHubProcess, startSpokeProcess, until, type Hub, type SpokeHandle } from '../support/processes';
import { makeTestTls, type TestTls } from '../support/tls';

type Opened = { ws: WebSocket; text: () => string; controls: unknown[]; closed: Promise<{ code: number; reason: string }> };

describe('serial console through the hub (fake driver)', () => {
  let tls: TestTls;
  let ca: Buffer;
  let database: Awaited<ReturnType<typeof createTestDatabase>>;
  let sql: pg.Client;
  let hub: Hub;
  let spoke: SpokeHandle;
  let alice: Session;
  let bob: Session;
  let capsulId: string;

  /** Opens a WebSocket; resolves once open, or rejects with the HTTP status of a refused upgrade. */
  function open(url: string, headers: Record<string, string>): Promise<Opened> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(url, { ca, headers, perMessageDeflate: false });
      const chunks: Buffer[] = [];
      const controls: unknown[] = [];
      const closed = new Promise<{ code: number; reason: string }>((r) => ws.on('close', (code, reason) => r({ code, reason: reason.toString() })));
      ws.on('message', (data, isBinary) => {
        const buf = Buffer.isBuffer(data) ? data : Buffer.from(data as ArrayBuffer);
        if (isBinary) chunks.push(buf);
        else controls.push(parseControl(buf.toString()) ?? { invalid: buf.toString() });
      });
      ws.on('unexpected-response', (_req, res) => {
        let body = '';
        res.on('data', (c) => (body += c));
        res.on('end', () => reject(Object.assign(new Error(`HTTP ${res.statusCode}: ${body.trim()}`), { status: res.statusCode, body })));
      });
      ws.on('error', reject);
      ws.on('open', () => resolve({ ws, controls, closed, text: () => Buffer.concat(chunks).toString('latin1') }));
    });
  }

  const hubConsole = (ticket: string, session: Session | undefined, origin = hub.url) =>
    open(`${hub.url.replace('https', 'wss')}${HUB_CONSOLE_PATH}?${TICKET_PARAM}=${ticket}`, { ...(session ? { cookie: session.cookie } : {}), origin });
  const ticketFor = async (session: Session, id = capsulId) => (await session.client.console.ticket.mutate({ id })).ticket;
  const refusedWith = async (opening: Promise<Opened>, status: number) => {
    const err = await opening.then(
      (o) => {
        o.ws.terminate();
        assert.fail('the WebSocket was accepted');
      },
      (e: { status?: number; message: string }) => e,
    );
    assert.equal(err.status, status, err.message);
    return err;
  };
  const attachedOnSpoke = () => spoke.proc.logs().split('\n').filter((l) => l.includes('"msg":"console viewer attached"')).length;

  before(async () => {
    tls = await makeTestTls();
    ca = readFileSync(tls.caFile);
    database = await createTestDatabase();
    sql = new pg.Client({ connectionString: database.url });
    await sql.connect();
    hub = await startHubProcess({ databaseUrl: database.url, tls, env: { RECONCILE_PERIOD_MS: '3600000' } });
    spoke = await startSpokeProcess({ hub, hostId: 'spoke-a', tls, env: { FAKE_CREATE_MS: '100' } });
    await allOnline(hub, ['spoke-a']);
    alice = await signIn(hub, tls, 'alice@example.com');
    bob = await signIn(hub, tls, 'bob@example.com');
    const created = await alice.client.capsul.create.mutate({ image: 'debian-12', size: 'nano' });
    capsulId = created.capsulId;
    await until(`${capsulId} running`, async () => (await alice.client.capsul.byId.query({ id: capsulId })).state === 'running');
  });

  after(async () => {
    await sql?.end();
    await spoke?.proc.stop();
    await hub?.proc.stop();
    await database?.drop();
  });

  test('the owner sees the boot banner, types hostname, reads the capsul id back; the session is recorded', async () => {
    const minted = await alice.client.console.ticket.mutate({ id: capsulId });
    assert.equal(minted.path, HUB_CONSOLE_PATH);
    const c = await hubConsole(minted.ticket, alice);
    await until('the attached and live frames', async () => c.controls.some((f) => (f as { t?: string }).t === 'live'));
    const first = c.controls[0] as { historyBytes: number; offset: number };
    assert.deepEqual(c.controls[0], { t: 'attached', capsulId, simulated: true, historyBytes: first.historyBytes, offset: first.offset });
    assert.match(c.text(), new RegExp(`booting ${capsulId}`), 'the boot log is shown on opening');
    assert.match(c.text(), /SIMULATED/);
    c.ws.send(JSON.stringify({ t: 'resize', cols: 100, rows: 30 }));
    c.ws.send(Buffer.from('hostname\r'), { binary: true });
    await until('the capsul id echoed back', async () => c.text().includes(`hostname\r\n${capsulId}\r\n`), 10_000, 50);
    c.ws.close(CLOSE.normal);
    await c.closed;
    const row = await until('the console operation completed', async () => {
      const r = await sql.query(
        `SELECT o.state, o.actor, o.payload, h.result FROM "Operation" o JOIN "HostOperation" h ON h."operationId" = o.id WHERE o.kind = 'console' AND o."capsulId" = $1 AND o.state <> 'assigned'`,
        [capsulId],
      );
      return r.rows[0];
    });
    assert.equal(row.state, 'completed');
    assert.equal(row.actor, 'account:alice@example.com');
    assert.equal(row.payload.id, capsulId);
    assert.ok(row.result.ms >= 0 && row.result.from && row.result.bytesIn === 'hostname\r'.length, JSON.stringify(row.result));
  });

  test("the capsul's page has the Console card (its terminal runs in the browser: not exercised here)", async () => {
    const page = await alice.fetch(`${hub.url}/capsuls/${capsulId}`, { headers: { cookie: alice.cookie } });
    assert.equal(page.status, 200);
    const html = await page.text();
    assert.match(html, /Open console/);
    assert.match(html, /The first serial port, in your browser/);
  });

  test('two viewers share one attachment: what one types, both see', async () => {
    const one = await hubConsole(await ticketFor(alice), alice);
    const two = await hubConsole(await ticketFor(alice), alice);
    await until('both live', async () => [one, two].every((c) => c.controls.some((f) => (f as { t?: string }).t === 'live')));
    one.ws.send(Buffer.from('echo shared-line\r'), { binary: true });
    await until('both see it', async () => [one, two].every((c) => c.text().includes('\r\nshared-line\r\n')), 10_000, 50);
    one.ws.close();
    two.ws.close();
    await Promise.all([one.closed, two.closed]);
  });

  test('refused, with nothing attached: another account, a reused ticket, a wrong Origin, no session, an unknown capsul', async () => {
    const before = attachedOnSpoke();
    // Another account cannot mint one for alice's capsul, nor use alice's.
    const err = await bob.client.console.ticket.mutate({ id: capsulId }).then(() => assert.fail('minted'), (e: unknown) => e);
    assert.ok(err instanceof TRPCClientError && err.data?.code === 'NOT_FOUND', String(err));
    const aliceTicket = await ticketFor(alice);
    await refusedWith(hubConsole(aliceTicket, bob), 401);
    // A wrong Origin and no cookie are refused before the ticket is looked at (it stays good, see below).
    const fresh = await ticketFor(alice);
    await refusedWith(hubConsole(fresh, alice, 'https://evil.example'), 403);
    await refusedWith(hubConsole(fresh, undefined), 401);
    await refusedWith(hubConsole('not-a-ticket', alice), 401);
    // A ticket is used once.
    const used = await hubConsole(fresh, alice);
    await until('live', async () => used.controls.some((f) => (f as { t?: string }).t === 'live'));
    used.ws.close();
    await used.closed;
    await refusedWith(hubConsole(fresh, alice), 401);
    // No such capsul (or not a capsul id at all): a clear error at minting.
    const unknown = await alice.client.console.ticket.mutate({ id: 'capsul-zzzzzzzzzz' }).then(() => assert.fail('minted'), (e: unknown) => e);
    assert.ok(unknown instanceof TRPCClientError && unknown.data?.code === 'NOT_FOUND', String(unknown));
    const malformed = await alice.client.console.ticket.mutate({ id: '../etc/passwd' }).then(() => assert.fail('minted'), (e: unknown) => e);
    assert.ok(malformed instanceof TRPCClientError && malformed.data?.code === 'BAD_REQUEST', String(malformed));
    assert.equal(attachedOnSpoke(), before + 1, 'only the one accepted session attached');
  });

  test("the spoke's WebSocket: refused without or with a wrong hub token, for a malformed id; an unknown capsul is closed with a reason", async () => {
    const before = attachedOnSpoke();
    const url = (id: string) => `${spoke.url.replace('https', 'wss')}/console/${id}`;
    await refusedWith(open(url(capsulId), {}), 401);
    await refusedWith(open(url(capsulId), { authorization: `Bearer ${'x'.repeat(43)}` }), 401);
    await refusedWith(open(url('capsul-../../x'), { authorization: `Bearer ${spoke.hubToken}` }), 400);
    await refusedWith(open(`${spoke.url.replace('https', 'wss')}/trpc/list`, { authorization: `Bearer ${spoke.hubToken}` }), 404);
    const none = await open(url('capsul-zzzzzzzzzz'), { authorization: `Bearer ${spoke.hubToken}` });
    const closed = await none.closed;
    assert.equal(closed.code, CLOSE.notFound);
    assert.match(closed.reason, /no capsul capsul-zzzzzzzzzz/);
    assert.equal(attachedOnSpoke(), before, 'nothing attached');
  });

  test('the graphical console of a fake capsul: the spoke says plainly there is none, through the hub, and the session is recorded as failed', async () => {
    const minted = await alice.client.console.ticket.mutate({ id: capsulId, kind: 'vnc' });
    const c = await hubConsole(minted.ticket, alice);
    const closed = await c.closed;
    assert.equal(closed.code, CLOSE.unsupported, closed.reason);
    assert.match(closed.reason, /fake driver has no graphical console/);
    assert.equal(c.controls.length, 0, 'the browser leg of a graphical console carries no control frames (noVNC reads RFB only)');
    const row = await until('recorded', async () => (await sql.query(`SELECT o.state, o.error, o.payload FROM "Operation" o WHERE o.kind = 'console' AND o.payload->>'console' = 'vnc' AND o.state <> 'assigned'`)).rows[0]);
    assert.equal(row.state, 'failed', 'never attached');
    assert.match(row.error, /fake driver has no graphical console/);
    const direct = await open(`${spoke.url.replace('https', 'wss')}/console/${capsulId}/vnc`, { authorization: `Bearer ${spoke.hubToken}` });
    assert.equal((await direct.closed).code, CLOSE.unsupported);
  });

  test('bad input: an oversized frame and a garbage text frame close the session with a reason; hub and spoke serve on', async () => {
    const big = await hubConsole(await ticketFor(alice), alice);
    big.ws.send(Buffer.alloc(64 * 1024, 0x41), { binary: true });
    assert.equal((await big.closed).code, 1009, 'message too big');
    const garbage = await hubConsole(await ticketFor(alice), alice);
    garbage.ws.send('{"t":"exec","cmd":"rm -rf /"}');
    const closed = await garbage.closed;
    assert.equal(closed.code, CLOSE.protocol);
    assert.match(closed.reason, /not a console control frame/);
    const flood = await hubConsole(await ticketFor(alice), alice);
    for (let i = 0; i < 40; i++) flood.ws.send(Buffer.alloc(16 * 1024, 0x20), { binary: true });
    assert.equal((await flood.closed).code, CLOSE.tooFast);
    // Still serving.
    const after = await hubConsole(await ticketFor(alice), alice);
    after.ws.send(Buffer.from('hostname\r'), { binary: true });
    await until('the capsul id again', async () => after.text().includes(`\r\n${capsulId}\r\n`), 10_000, 50);
    after.ws.close();
    await after.closed;
  });

  test('the CLI attaches the operator to the console with the admin token; Ctrl-] leaves', async () => {
    const cli = execa(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'console', capsulId], {
      cwd: ROOT,
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? '/root', ...cliEnv(hub, tls) },
      extendEnv: false,
      reject: false,
      timeout: 60_000,
    });
    let out = '';
    cli.stdout!.on('data', (d: Buffer) => (out += d.toString('latin1')));
    let err = '';
    cli.stderr!.on('data', (d: Buffer) => (err += d.toString()));
    await until('attached', async () => err.includes(`attached to ${capsulId}`), 30_000, 50);
    cli.stdin!.write('hostname\r');
    await until('the capsul id on stdout', async () => out.includes(`\r\n${capsulId}\r\n`), 10_000, 50);
    cli.stdin!.write(Buffer.from([0x1d]));
    const r = await cli;
    assert.equal(r.exitCode, 0, err);
    assert.match(err, /simulated console/);
    await until('the CLI session recorded', async () => (await sql.query(`SELECT 1 FROM "Operation" WHERE kind = 'console' AND actor = 'cli' AND state = 'completed'`)).rowCount);
  });

  test("the bench's console step runs (small numbers): keystroke echo through the hub and direct, and 2 MiB of `yes` both ways with nothing lost", async () => {
    const { capsulId: benchId } = await alice.client.capsul.create.mutate({ image: 'debian-12', size: 'nano' });
    await until(`${benchId} running`, async () => (await alice.client.capsul.byId.query({ id: benchId })).state === 'running');
    const r = await consoleFigures({ hub, spoke, session: alice, capsulId: benchId, ca }, { keystrokes: 30, bytes: 2 * 1024 * 1024, rounds: 1 });
    assert.equal(r.figures.length, 2);
    assert.equal(r.figures[0]!.samples.length, 30);
    assert.ok(r.figures.every((f) => f.samples.every((v) => v > 0) && f.floor.every((v) => v > 0)));
    assert.match(r.notes[0]!, /MiB\/s through the hub/);
  });

  test('signing out everywhere closes that account’s open consoles at once (not at the 15 s re-check); another account’s stays', async () => {
    const carol = await signIn(hub, tls, 'carol@example.com');
    const carolPhone = await signIn(hub, tls, 'carol@example.com');
    const own = await carol.client.capsul.create.mutate({ image: 'debian-12', size: 'nano' });
    await until(`${own.capsulId} running`, async () => (await carol.client.capsul.byId.query({ id: own.capsulId })).state === 'running');
    const mine = await hubConsole((await carol.client.console.ticket.mutate({ id: own.capsulId })).ticket, carol);
    const theirs = await hubConsole(await ticketFor(alice), alice);
    await until('both live', async () => [mine, theirs].every((c) => c.controls.some((f) => (f as { t?: string }).t === 'live')));
    const t0 = Date.now();
    await carolPhone.client.auth.logout.mutate({ everywhere: true });
    const closed = await mine.closed;
    const ms = Date.now() - t0;
    assert.equal(closed.code, CLOSE.refused, closed.reason);
    assert.match(closed.reason, /signed out/);
    assert.ok(ms < 3000, `closed ${ms} ms after the sign-out`);
    theirs.ws.send(Buffer.from('echo still-here\r'), { binary: true });
    await until("alice's console still works", async () => theirs.text().includes('\r\nstill-here\r\n'), 10_000, 50);
    theirs.ws.close();
    await theirs.closed;
    // The session's end is recorded with the reason.
    const row = await until('recorded', async () => (await sql.query(`SELECT h.result FROM "Operation" o JOIN "HostOperation" h ON h."operationId" = o.id WHERE o.kind = 'console' AND o."capsulId" = $1 AND o.state = 'completed'`, [own.capsulId])).rows[0]);
    assert.match(row.result.reason, /signed out/);
  });

  test('signing out everywhere on another hub (same database) closes the console held by this one at once: the change feed carries it', async () => {
    const other = await startHubProcess({
      databaseUrl: database.url,
      tls,
      name: 'hub-b',
      env: { RECONCILE_PERIOD_MS: '3600000' },
      same: { hubSecret: hub.hubSecret, adminToken: hub.adminToken, dataDir: await mkdtemp(path.join(os.tmpdir(), 'capsul-hub-b-')) },
    });
    try {
      const dave = await signIn(hub, tls, 'dave@example.com');
      const daveOnB = await signIn(other, tls, 'dave@example.com');
      const own = await dave.client.capsul.create.mutate({ image: 'debian-12', size: 'nano' });
      await until(`${own.capsulId} running`, async () => (await dave.client.capsul.byId.query({ id: own.capsulId })).state === 'running');
      const c = await hubConsole((await dave.client.console.ticket.mutate({ id: own.capsulId })).ticket, dave);
      await until('live', async () => c.controls.some((f) => (f as { t?: string }).t === 'live'));
      const t0 = Date.now();
      await daveOnB.client.auth.logout.mutate({ everywhere: true });
      const closed = await c.closed;
      const ms = Date.now() - t0;
      assert.equal(closed.code, CLOSE.refused, closed.reason);
      assert.ok(ms < 5000, `closed ${ms} ms after the sign-out on the other hub (the re-check alone would take up to 15 s)`);
    } finally {
      await other.proc.stop();
    }
  });

  test('an idle session closes after CONSOLE_IDLE_MS without input, with the reason, recorded; typing keeps it open', async () => {
    const idleHub = await startHubProcess({
      databaseUrl: database.url,
      tls,
      name: 'hub-idle',
      env: { RECONCILE_PERIOD_MS: '3600000', CONSOLE_IDLE_MS: '3000' },
      same: { hubSecret: hub.hubSecret, adminToken: hub.adminToken, dataDir: await mkdtemp(path.join(os.tmpdir(), 'capsul-hub-idle-')) },
    });
    try {
      const erin = await signIn(idleHub, tls, 'erin@example.com');
      const own = await erin.client.capsul.create.mutate({ image: 'debian-12', size: 'nano' });
      await until(`${own.capsulId} running`, async () => (await erin.client.capsul.byId.query({ id: own.capsulId })).state === 'running');
      const ticket = (await erin.client.console.ticket.mutate({ id: own.capsulId })).ticket;
      const c = await open(`${idleHub.url.replace('https', 'wss')}${HUB_CONSOLE_PATH}?${TICKET_PARAM}=${ticket}`, { cookie: erin.cookie, origin: idleHub.url });
      await until('live', async () => c.controls.some((f) => (f as { t?: string }).t === 'live'));
      // Typing every second for 5 s (past the 3 s limit) keeps it open.
      let lastInput = Date.now();
      for (let i = 0; i < 5; i++) {
        await new Promise((r) => setTimeout(r, 1000));
        assert.equal(c.ws.readyState, WebSocket.OPEN, `closed while typing (after ${i + 1} s)`);
        c.ws.send(Buffer.from('x'), { binary: true });
        lastInput = Date.now();
      }
      const end = await c.closed;
      const quiet = Date.now() - lastInput;
      assert.equal(end.code, CLOSE.idle, end.reason);
      assert.match(end.reason, /closed after 3 s without input/);
      assert.ok(quiet >= 2900, `closed ${quiet} ms after the last input, before the limit`);
      const row = await until('recorded', async () => (await sql.query(`SELECT h.result FROM "Operation" o JOIN "HostOperation" h ON h."operationId" = o.id WHERE o.kind = 'console' AND o."capsulId" = $1 AND o.state = 'completed' AND h.result->>'reason' LIKE 'closed after%'`, [own.capsulId])).rows[0]);
      assert.match(row.result.reason, /without input/);
    } finally {
      await idleHub.proc.stop();
    }
  });

  test('a spoke restart while a console is open: the viewer says "reconnecting", mints a fresh ticket and is attached again, with the boot log kept on disk', async () => {
    const statuses: ConsoleStatus[] = [];
    const attaches: number[] = [];
    let data = '';
    let tickets = 0;
    const client = connectConsole({
      mint: async () => {
        tickets++;
        return alice.client.console.ticket.mutate({ id: capsulId });
      },
      open: (pathAndQuery) =>
        new WebSocket(`${hub.url.replace('https', 'wss')}${pathAndQuery}`, { ca, headers: { cookie: alice.cookie, origin: hub.url }, perMessageDeflate: false }) as unknown as SocketLike,
      onStatus: (st) => statuses.push(st),
      onAttached: () => {
        attaches.push(Date.now());
        data = ''; // the terminal's reset
      },
      onData: (bytes) => (data += Buffer.from(bytes).toString('latin1')),
      backoffMs: () => 300,
      maxAttempts: 100,
    });
    try {
      await until('live', async () => statuses.at(-1)?.kind === 'live');
      client.send(Buffer.from('echo before-restart\r'));
      await until('echoed', async () => data.includes('\r\nbefore-restart\r\n'), 10_000, 50);
      await spoke.proc.stop();
      await until('"reconnecting" while the spoke is down', async () => statuses.at(-1)?.kind === 'reconnecting', 10_000, 20);
      assert.ok(statuses.at(-1)?.message, 'with the reason it dropped');
      spoke = await startSpokeProcess({ hub, hostId: 'spoke-a', tls, port: spoke.port, stateDir: spoke.stateDir, hostToken: spoke.hostToken, hubToken: spoke.hubToken, env: { FAKE_CREATE_MS: '100' } });
      await until('live again', async () => statuses.at(-1)?.kind === 'live' && attaches.length >= 2, 60_000, 50);
      assert.ok(tickets >= 2, 'a fresh ticket for each connection');
      assert.match(data, new RegExp(`booting ${capsulId}[\\s\\S]*before-restart`), 'the boot log and what was typed before the restart, once');
      assert.equal((data.match(/\r\nbefore-restart\r\n/g) ?? []).length, 1, 'the history is not shown twice after the reset');
      client.send(Buffer.from('hostname\r'));
      await until('typing works again', async () => data.includes(`hostname\r\n${capsulId}\r\n`), 10_000, 50);
    } finally {
      client.close();
    }
  });
});
