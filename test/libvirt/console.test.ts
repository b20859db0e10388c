// The serial and graphical consoles of a real capsul (libvirt + QEMU under TCG, the test guest), through the
// hub and the spoke over HTTPS: the boot log on opening, `hostname` typed on the guest's serial shell answers
// the capsul id, a restart shows the new boot, the VNC socket answers RFB through the hub, and destroy leaves
// no socket and no log behind.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { readdir, rm, stat } from 'node:fs/promises';
import { after, before, describe, test } from 'node:test';
import { WebSocket } from 'ws';
import { CLOSE, HUB_CONSOLE_PATH, parseControl, TICKET_PARAM } from '~/contract/console';
import { createTestDatabase } from '../support/postgres';
import { allOnline, startHubProcess, startSpokeProcess, until, type Hub, type SpokeHandle } from '../support/processes';
import { disksDir, domainState, requireLibvirt, testGuestImages } from '../support/libvirt';
import { makeTestTls, type TestTls } from '../support/tls';

const GUEST = { vcpus: 1, memoryMb: 128, diskGb: 1 };

type Opened = { ws: WebSocket; text: () => string; bytes: () => Buffer; controls: unknown[]; closed: Promise<{ code: number; reason: string }> };

describe('consoles of a real capsul (libvirt)', () => {
  let tls: TestTls;
  let ca: Buffer;
  let database: Awaited<ReturnType<typeof createTestDatabase>>;
  let hub: Hub;
  let spoke: SpokeHandle;
  let disks: string;
  let id: string;

  /** The hub's console WebSocket with the admin token (as the CLI opens it). */
  async function openConsole(kind: 'serial' | 'vnc' = 'serial'): Promise<Opened> {
    const { ticket } = await hub.admin.console.ticket.mutate({ id, kind });
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(`${hub.url.replace('https', 'wss')}${HUB_CONSOLE_PATH}?${TICKET_PARAM}=${ticket}`, {
        ca,
        headers: { authorization: `Bearer ${hub.adminToken}` },
        perMessageDeflate: false,
      });
      const chunks: Buffer[] = [];
      const controls: unknown[] = [];
      const closed = new Promise<{ code: number; reason: string }>((r) => ws.on('close', (code, reason) => r({ code, reason: reason.toString() })));
      ws.on('message', (data, isBinary) => {
        const buf = data as Buffer;
        if (isBinary) chunks.push(buf);
        else controls.push(parseControl(buf.toString()) ?? { invalid: buf.toString() });
      });
      ws.on('error', reject);
      ws.on('unexpected-response', (_req, res) => reject(new Error(`HTTP ${res.statusCode}`)));
      ws.on('open', () => resolve({ ws, controls, closed, bytes: () => Buffer.concat(chunks), text: () => Buffer.concat(chunks).toString('latin1') }));
    });
  }
  const isLive = (c: Opened) => c.controls.some((f) => (f as { t?: string }).t === 'live');

  before(async () => {
    await requireLibvirt();
    const images = await testGuestImages();
    disks = await disksDir('console');
    tls = await makeTestTls();
    ca = readFileSync(tls.caFile);
    database = await createTestDatabase();
    hub = await startHubProcess({ databaseUrl: database.url, tls, env: { SPOKE_CALL_TIMEOUT_MS: '20000' } });
    spoke = await startSpokeProcess({
      hub,
      hostId: 'kvm-console',
      tls,
      env: { SPOKE_DRIVER: 'libvirt', LIBVIRT_DOMAIN_TYPE: 'qemu', SPOKE_IMAGES_DIR: images.dir, SPOKE_DISKS_DIR: disks, SPOKE_MEMORY_RESERVE_MB: '512', SPOKE_READY_TIMEOUT_MS: '150000' },
    });
    await allOnline(hub, ['kvm-console']);
    const { id: image, name, file, kernel, initrd, cmdline } = images.image;
    await hub.admin.image.upsert.mutate({ id: image, name, file, kernel, initrd, cmdline });
    const created = await hub.admin.capsul.create.mutate({ owner: 'console@example.com', image, ...GUEST });
    id = created.capsulId;
    await until('running', async () => {
      const c = await hub.admin.capsul.byId.query({ id });
      if (c.state === 'failed') throw new Error(`create failed: ${c.error}`);
      return c.state === 'running';
    }, 180_000, 500);
  });

  after(async () => {
    await spoke?.proc.stop();
    await hub?.proc.stop();
    await database?.drop();
    if (disks) await rm(disks, { recursive: true, force: true });
  });

  test('the socket libvirt bound is there and the spoke can connect to it', async () => {
    const sock = await stat(`${disks}/${id}.console.sock`);
    assert.ok(sock.isSocket());
  });

  test('the serial console: the boot log on opening, hostname answers the capsul id, a restart shows the new boot', async () => {
    const c = await openConsole();
    await until('live', async () => isLive(c), 30_000, 50);
    const attached = c.controls[0] as { t: string; simulated: boolean; historyBytes: number };
    assert.equal(attached.t, 'attached');
    assert.equal(attached.simulated, false);
    // The guest's shells come up after its DHCP lease: wait for init's line (history or live).
    await until('the boot log', async () => c.text().includes('console shells on ttyS0'), 120_000, 200);
    assert.match(c.text(), new RegExp(`capsul-guest: boot 1 as ${id}`));
    const before = c.text().length;
    c.ws.send(Buffer.from('\r'), { binary: true });
    await new Promise((r) => setTimeout(r, 500));
    c.ws.send(Buffer.from('hostname\r'), { binary: true });
    await until('the capsul id from the guest', async () => new RegExp(`hostname\\r?\\r\\n${id}\\r?\\r\\n`).test(c.text().slice(before)), 30_000, 100);

    // A restart (ACPI power-off half, then libvirt starts it again): the new boot shows, live or on reattach.
    const restart = await hub.admin.capsul.setState.mutate({ id, command: 'restart' });
    assert.equal(restart.state, 'running');
    const sawLive = await until('boot 2 on the open console, or the console closed', async () =>
      c.text().includes(`boot 2 as ${id}`) ? 'live' : (await Promise.race([c.closed.then(() => 'closed'), new Promise((r) => setTimeout(() => r(undefined), 100))])) as string | undefined,
    180_000, 200);
    if (sawLive === 'closed') {
      const again = await until('attached again', async () => {
        const o = await openConsole();
        await until('live', async () => isLive(o) || (await Promise.race([o.closed.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), 100))])), 30_000, 100);
        return isLive(o) ? o : undefined;
      }, 120_000, 1000);
      await until('boot 2 in the history', async () => again.text().includes(`boot 2 as ${id}`), 120_000, 200);
      again.ws.close();
    } else c.ws.close();
  });

  test('the graphical console: RFB from QEMU through the hub (security type None, a framebuffer size)', async () => {
    const c = await openConsole('vnc');
    await until('the RFB banner', async () => c.text().startsWith('RFB 003.008\n'), 30_000, 50);
    assert.equal(c.controls.length, 0, 'the browser leg carries RFB only');
    c.ws.send(Buffer.from('RFB 003.008\n'), { binary: true });
    // Security types: count, then the list; None is 1.
    await until('the security types', async () => c.bytes().length >= 12 + 2, 10_000, 20);
    const types = c.bytes().subarray(13, 13 + c.bytes()[12]!);
    assert.ok(types.includes(1), `security type None offered (${[...types]})`);
    c.ws.send(Buffer.from([1]), { binary: true });
    const at = 13 + c.bytes()[12]!;
    await until('security result', async () => c.bytes().length >= at + 4, 10_000, 20);
    assert.equal(c.bytes().readUInt32BE(at), 0, 'security OK');
    c.ws.send(Buffer.from([1]), { binary: true }); // ClientInit: shared
    await until('ServerInit', async () => c.bytes().length >= at + 4 + 24, 10_000, 20);
    const width = c.bytes().readUInt16BE(at + 4);
    const height = c.bytes().readUInt16BE(at + 6);
    assert.ok(width >= 320 && height >= 200, `framebuffer ${width}×${height}`);
    c.ws.close();
    assert.notEqual((await c.closed).code, CLOSE.unsupported);
  });

  test('destroy leaves no socket and no log', async () => {
    await hub.admin.capsul.destroy.mutate({ id });
    assert.equal(await domainState(id), null);
    assert.deepEqual((await readdir(disks)).filter((f) => f.startsWith(id)), []);
  });
});
