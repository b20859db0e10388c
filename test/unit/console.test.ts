// The console's pieces on their own: the on-disk boot-log ring, the fake driver's simulated shell, control
// frames, the input budget, and one attachment shared by several viewers (fake driver, no processes).
import assert from 'node:assert/strict';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, test } from 'node:test';
import { MAX_CONTROL_FRAME, parseControl } from '~/contract/console';
import { log } from '~/lib/log';
import { isPersonInput } from '~/hub/console/rfb-input';
import { ByteBudget, closeReason } from '~/lib/ws-upgrade';
import { ConsoleAttachments } from '~/spoke/console/attachments';
import { BootLogRing, tailFiles } from '~/spoke/console/ring';
import { SimulatedSerial } from '~/spoke/console/simulated-serial';
import { FakeHypervisor } from '~/spoke/hypervisor/fake';
import { HypervisorError } from '~/spoke/hypervisor/types';

const ID = 'capsul-abcdefghij';
const tmp = () => mkdtemp(path.join(os.tmpdir(), 'capsul-console-'));
const quiet = log.child({ test: 'console' });

describe('boot-log ring', () => {
  test('keeps between keep and 2×keep bytes, the newest; survives being opened again', async () => {
    const file = path.join(await tmp(), 'a.log');
    const ring = new BootLogRing(file, 100);
    for (let i = 0; i < 50; i++) ring.append(`${String(i).padStart(4, '0')}\n`); // 250 bytes
    assert.ok(ring.bytes >= 100 && ring.bytes <= 200, `size ${ring.bytes}`);
    const text = (await readFile(file, 'utf8'));
    assert.ok(text.endsWith('0049\n'), 'the newest is kept');
    assert.ok(!text.includes('0000\n'), 'the oldest is gone');
    const again = new BootLogRing(file, 100);
    assert.equal(again.bytes, ring.bytes, 'a restart finds what was kept');
    assert.equal(again.tail(5).toString(), '0049\n');
    assert.equal(again.tail(10_000).length, ring.bytes);
    again.remove();
    assert.equal(new BootLogRing(file, 100).tail(10).length, 0);
  });

  test('tailFiles reads across rotated logs, oldest first, and skips missing ones', async () => {
    const dir = await tmp();
    const files = ['x.log.1', 'x.log.0', 'x.log'].map((f) => path.join(dir, f));
    await writeFile(files[0]!, 'aaaa');
    await writeFile(files[2]!, 'cccc'); // x.log.0 missing
    assert.equal(tailFiles(files, 6).toString(), 'aacccc');
    assert.equal(tailFiles(files, 100).toString(), 'aaaacccc');
    assert.equal(tailFiles([path.join(dir, 'none')], 10).length, 0);
  });
});

describe('simulated serial (fake driver)', () => {
  test('a boot banner naming the capsul and saying it is simulated; echo; hostname answers the id; backspace; escapes swallowed', async () => {
    const ring = new BootLogRing(path.join(await tmp(), `${ID}.log`), 4096);
    const serial = new SimulatedSerial(ID, ring);
    let out = '';
    serial.attach((d) => (out += d.toString('latin1')));
    serial.boot();
    assert.match(out, new RegExp(`booting ${ID}`));
    assert.match(out, /SIMULATED/);
    out = '';
    serial.input(Buffer.from('hostnamx\x7fe\x1b[A\r'));
    assert.equal(out, `hostnamx\b \be\r\n${ID}\r\nroot@${ID}:~# `);
    out = '';
    serial.input(Buffer.from('nope\r\n'));
    assert.match(out, /nope: not found \(simulated console/);
    assert.equal((out.match(/root@/g) ?? []).length, 1, 'CR LF is one Enter');
    assert.match(ring.tail(4096).toString('latin1'), new RegExp(`booting ${ID}[\\s\\S]*${ID}\\r\\n`), 'all of it is in the ring');
  });
});

describe('control frames', () => {
  test('valid ones parse; garbage, unknown kinds, extra fields and oversized text do not', () => {
    assert.deepEqual(parseControl('{"t":"resize","cols":80,"rows":24}'), { t: 'resize', cols: 80, rows: 24 });
    assert.deepEqual(parseControl('{"t":"close","reason":"bye"}'), { t: 'close', reason: 'bye' });
    for (const bad of ['', 'nope', '{}', '[]', 'null', '{"t":"resize","cols":0,"rows":24}', '{"t":"resize","cols":80,"rows":24,"x":1}', '{"t":"exec"}', '{"t":"attached","capsulId":"../etc","simulated":true,"historyBytes":0}']) {
      assert.equal(parseControl(bad), null, bad);
    }
    assert.equal(parseControl(JSON.stringify({ t: 'close', reason: 'x'.repeat(MAX_CONTROL_FRAME) })), null);
  });

  test('close reasons fit in 123 bytes; the input budget refuses a flood and refills', async () => {
    assert.ok(Buffer.byteLength(closeReason('é'.repeat(200))) <= 123);
    const budget = new ByteBudget(1000, 2000);
    assert.ok(budget.take(1500));
    assert.ok(!budget.take(1000), 'past the burst');
    await new Promise((r) => setTimeout(r, 700));
    assert.ok(budget.take(100), 'refilled at its rate');
  });
});

describe('one attachment, several viewers (fake driver)', () => {
  async function fakeWithRunning() {
    const fake = new FakeHypervisor({ stateDir: await tmp(), memoryMb: 4096, diskGb: 100, createMs: 0, images: '*' });
    await fake.create({ id: ID, image: 'debian-12', memoryMb: 256, diskGb: 10, vcpus: 1, sshAuthorizedKeys: [], operationId: '00000000-0000-4000-8000-000000000000', imageFiles: { disk: 'd.qcow2' } } as never, quiet);
    return fake;
  }

  test('both viewers see what either types; the port closes when the last leaves; history has the boot', async () => {
    const fake = await fakeWithRunning();
    assert.match((await fake.serialHistory(ID, 4096)).toString(), new RegExp(`booting ${ID}`));
    const attachments = new ConsoleAttachments(fake, quiet);
    const seen = ['', ''];
    const ended: string[] = [];
    const one = await attachments.join(ID, { send: (d) => (seen[0] = `${seen[0]}${d}`), end: (r) => ended.push(r) });
    const two = await attachments.join(ID, { send: (d) => (seen[1] = `${seen[1]}${d}`), end: (r) => ended.push(r) });
    assert.deepEqual(attachments.counts(), { capsuls: 1, viewers: 2 });
    one.write(Buffer.from('hostname\r'));
    for (const s of seen) assert.match(s, new RegExp(`hostname\\r\\n${ID}\\r\\n`));
    one.leave();
    two.leave();
    assert.deepEqual(attachments.counts(), { capsuls: 0, viewers: 0 });
    assert.deepEqual(ended, []);
  });

  test('a stop ends the viewers with a reason; a restart prints a new boot; unknown and stopped capsuls are refused', async () => {
    const fake = await fakeWithRunning();
    const attachments = new ConsoleAttachments(fake, quiet);
    await assert.rejects(attachments.join('capsul-zzzzzzzzzz', { send: () => {}, end: () => {} }), (e: unknown) => e instanceof HypervisorError && e.kind === 'not_found');
    let seen = '';
    const ended: string[] = [];
    await attachments.join(ID, { send: (d) => (seen += d), end: (r) => ended.push(r) });
    await fake.setState(ID, 'restart');
    assert.match(seen, /rebooting[\s\S]*booting/);
    await fake.setState(ID, 'stop');
    assert.deepEqual(ended, ['the capsul stopped']);
    assert.deepEqual(attachments.counts().capsuls, 0);
    await assert.rejects(attachments.join(ID, { send: () => {}, end: () => {} }), (e: unknown) => e instanceof HypervisorError && e.kind === 'precondition');
    const history = (await fake.serialHistory(ID, 1 << 20)).toString();
    assert.equal((history.match(/booting capsul-abcdefghij/g) ?? []).length, 2, 'both boots are in the log');
  });
});

describe('history and live without a seam (fake driver)', () => {
  test('viewers joining while the line prints get history + live = the line’s output once: nothing missing, nothing doubled', async () => {
    const fake = new FakeHypervisor({ stateDir: await tmp(), memoryMb: 4096, diskGb: 100, createMs: 0, images: '*' });
    await fake.create({ id: ID, image: 'debian-12', memoryMb: 256, diskGb: 10, vcpus: 1, sshAuthorizedKeys: [], operationId: '00000000-0000-4000-8000-000000000000', imageFiles: { disk: 'd.qcow2' } } as never, quiet);
    const attachments = new ConsoleAttachments(fake, quiet);
    const first: Buffer[] = [];
    const typist = await attachments.join(ID, { send: (d) => first.push(d), end: () => {} });
    assert.equal(typist.offset, 0);
    // The line prints on every turn of the event loop while five more viewers join, one every few turns.
    let n = 0;
    let printing = true;
    const print = () => {
      if (!printing) return;
      typist.write(Buffer.from(`echo line-${n++}\r`));
      setImmediate(print);
    };
    setImmediate(print);
    const late: { history: Buffer; offset: number; live: Buffer[] }[] = [];
    for (let i = 0; i < 5; i++) {
      await new Promise((r) => setTimeout(r, 3 + i));
      const live: Buffer[] = [];
      const joined = await attachments.join(ID, { send: (d) => live.push(d), end: () => {} });
      late.push({ history: joined.history, offset: joined.offset, live });
    }
    await new Promise((r) => setTimeout(r, 10));
    printing = false;
    await new Promise((r) => setTimeout(r, 5));
    const all = Buffer.concat(first);
    const log = await fake.serialHistory(ID, 1 << 22);
    assert.ok(n > 20, `the line printed while viewers joined (${n} lines)`);
    for (const [i, v] of late.entries()) {
      const live = Buffer.concat(v.live);
      assert.ok(v.offset > 0 && v.offset < all.length, `viewer ${i} joined mid-stream (offset ${v.offset})`);
      assert.ok(live.equals(all.subarray(v.offset)), `viewer ${i}: live = the first viewer's bytes from its offset`);
      const seen = Buffer.concat([v.history, live]);
      assert.ok(log.subarray(log.length - seen.length).equals(seen), `viewer ${i}: history + live is the log's tail, contiguous`);
      assert.ok(v.history.length > 0 && all.subarray(0, v.offset).toString('latin1').endsWith(v.history.subarray(-Math.min(v.history.length, v.offset)).toString('latin1')));
    }
  });
});

describe('graphical console on the spoke (a stand-in VNC server on a Unix socket)', () => {
  test('RFB bytes are relayed both ways as they are, in frames of at most 16 KiB; the fake driver says plainly it has none', async () => {
    const { createServer } = await import('node:http');
    const net = await import('node:net');
    const { WebSocket } = await import('ws');
    const { consoleEndpoint } = await import('~/spoke/console/endpoint');
    const { CLOSE, MAX_DATA_FRAME } = await import('~/contract/console');
    const dir = await tmp();
    // The stand-in: says the RFB banner, then sends 100 KiB of "framebuffer", and echoes what it gets.
    const sock = path.join(dir, 'vnc.sock');
    const frame = Buffer.alloc(100 * 1024, 7);
    const vnc = net.createServer((c) => {
      c.write('RFB 003.008\n');
      c.write(frame);
      c.on('data', (d) => c.write(d));
    });
    await new Promise<void>((r) => vnc.listen(sock, r));
    const fake = new FakeHypervisor({ stateDir: dir, memoryMb: 4096, diskGb: 100, createMs: 0, images: '*' });
    await fake.create({ id: ID, image: 'debian-12', memoryMb: 256, diskGb: 10, vcpus: 1, sshAuthorizedKeys: [], operationId: '00000000-0000-4000-8000-000000000000', imageFiles: { disk: 'd.qcow2' } } as never, quiet);
    const token = 'h'.repeat(43);
    const noScreen = consoleEndpoint(fake, token, quiet);
    const withScreen = consoleEndpoint(
      Object.assign(Object.create(fake) as FakeHypervisor, {
        openGraphics: async () => {
          const c = net.connect(sock);
          await new Promise((r) => c.once('connect', r));
          return { write: (d: Buffer) => void c.write(d), onData: (l: (d: Buffer) => void) => void c.on('data', l), onEnd: (l: (r: string) => void) => void c.on('close', () => l('closed')), pause: () => void c.pause(), resume: () => void c.resume(), close: () => void c.destroy() };
        },
      }),
      token,
      quiet,
    );
    const servers = [noScreen, withScreen].map((endpoint) => {
      const server = createServer((_req, res) => res.end());
      server.on('upgrade', endpoint.upgrade);
      return server;
    });
    await Promise.all(servers.map((s) => new Promise<void>((r) => s.listen(0, '127.0.0.1', r))));
    const url = (i: number) => `ws://127.0.0.1:${(servers[i]!.address() as { port: number }).port}/console/${ID}/vnc`;
    try {
      const ws = new WebSocket(url(1), { headers: { authorization: `Bearer ${token}` } });
      const binary: Buffer[] = [];
      const texts: string[] = [];
      ws.on('message', (d, isBinary) => (isBinary ? binary.push(d as Buffer) : texts.push(String(d))));
      await new Promise((r) => ws.once('open', r));
      const total = () => binary.reduce((n, b) => n + b.length, 0);
      const want = 12 + frame.length;
      for (let i = 0; i < 200 && total() < want; i++) await new Promise((r) => setTimeout(r, 10));
      assert.equal(total(), want);
      assert.ok(binary.every((b) => b.length <= MAX_DATA_FRAME), 'frames of at most 16 KiB');
      assert.equal(Buffer.concat(binary).subarray(0, 12).toString(), 'RFB 003.008\n');
      assert.deepEqual(texts.map((t) => JSON.parse(t).t), ['attached', 'live']);
      ws.send(Buffer.from('RFB 003.008\n'), { binary: true });
      for (let i = 0; i < 200 && total() < want + 12; i++) await new Promise((r) => setTimeout(r, 10));
      assert.equal(Buffer.concat(binary).subarray(want).toString(), 'RFB 003.008\n', 'what the viewer sends reaches the server');
      ws.close();

      const fakeWs = new WebSocket(url(0), { headers: { authorization: `Bearer ${token}` } });
      const closed = await new Promise<{ code: number; reason: string }>((r) => fakeWs.on('close', (code, reason) => r({ code, reason: String(reason) })));
      assert.equal(closed.code, CLOSE.unsupported);
      assert.match(closed.reason, /fake driver has no graphical console/);
    } finally {
      for (const s of servers) s.close();
      vnc.close();
      await noScreen.close('done');
      await withScreen.close('done');
    }
  });
});

describe("the VNC socket's path in a live domain XML", () => {
  test('from <listen type="socket">, from the socket attribute, none without VNC', async () => {
    const { vncSocketPath } = await import('~/spoke/hypervisor/libvirt/driver');
    const live = `<domain><devices><graphics type='vnc' socket='/var/lib/libvirt/qemu/domain-3-capsul-a/vnc.sock'>
      <listen type='socket' socket='/var/lib/libvirt/qemu/domain-3-capsul-a/vnc.sock'/></graphics></devices></domain>`;
    assert.equal(vncSocketPath(live), '/var/lib/libvirt/qemu/domain-3-capsul-a/vnc.sock');
    assert.equal(vncSocketPath(`<graphics type="vnc" socket="/run/x/vnc.sock"/>`), '/run/x/vnc.sock');
    assert.equal(vncSocketPath(`<graphics type='vnc' port='5900' autoport='yes' listen='127.0.0.1'><listen type='address' address='127.0.0.1'/></graphics>`), null);
    assert.equal(vncSocketPath(`<domain><devices><serial type='unix'/></devices></domain>`), null);
  });
});

describe('the simulated console prints in bulk (for the bench)', () => {
  test('yes | head -c 100k prints exactly that, then the prompt; waits while the viewers are behind; Ctrl-C stops a plain yes', async () => {
    const ring = new BootLogRing(path.join(await tmp(), `${ID}.log`), 4096);
    const serial = new SimulatedSerial(ID, ring);
    let out = '';
    serial.attach((d) => (out += d.toString('latin1')));
    let behind = true;
    serial.congested = () => behind;
    serial.input(Buffer.from('yes | head -c 100k\r'));
    await new Promise((r) => setTimeout(r, 30));
    assert.equal(out, 'yes | head -c 100k\r\n', 'nothing while the viewers are behind');
    behind = false;
    for (let i = 0; i < 200 && !out.endsWith(':~# '); i++) await new Promise((r) => setTimeout(r, 5));
    const body = out.slice('yes | head -c 100k\r\n'.length, -`root@${ID}:~# `.length);
    assert.equal(body.length, 100 * 1024);
    assert.match(body, /^(y\n)+$/);
    out = '';
    serial.input(Buffer.from('yes\r'));
    await new Promise((r) => setTimeout(r, 20));
    serial.input(Buffer.from('\x03'));
    for (let i = 0; i < 100 && !out.endsWith(':~# '); i++) await new Promise((r) => setTimeout(r, 5));
    assert.match(out, /y\n\^C\r\nroot@/);
    assert.ok(ring.bytes <= 2 * 4096, 'the ring stays bounded');
  });
});

describe("the graphical console's idle close: what counts as a person's input", () => {
  const updateRequest = (incremental: number) => Buffer.from([3, incremental, 0, 0, 0, 0, 4, 0, 3, 0]);
  test("noVNC's update requests alone do not keep a screen open; keys, pointer, clipboard and the handshake do", () => {
    assert.equal(isPersonInput(updateRequest(1)), false);
    assert.equal(isPersonInput(Buffer.concat([updateRequest(1), updateRequest(0)])), false);
    assert.equal(isPersonInput(Buffer.from([4, 1, 0, 0, 0, 0, 0xff, 0x0d])), true); // KeyEvent: Enter down
    assert.equal(isPersonInput(Buffer.from([5, 0, 0, 10, 0, 20])), true); // PointerEvent
    assert.equal(isPersonInput(Buffer.concat([Buffer.from([5, 0, 0, 10, 0, 20]), updateRequest(1)])), true);
    assert.equal(isPersonInput(Buffer.from('RFB 003.008\n')), true);
    assert.equal(isPersonInput(Buffer.from([6, 0, 0, 0, 0, 0, 0, 2, 0x68, 0x69])), true); // ClientCutText "hi": 10 bytes, not type 3
  });
});
