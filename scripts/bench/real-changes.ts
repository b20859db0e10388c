// Changes to a running real capsul (libvirt driver, the test guest) through hub and spoke, against the same
// virsh and qemu-img commands run by hand on a by-hand domain of the same size, alternating, in one process:
// a snapshot (and how long the guest is paused for it), a revert to it, its delete, a rebuild and a resize.
// Usage: npm run bench:changes -- [runs]   (needs libvirtd: scripts/services.sh)
//
// Each run starts from a fresh capsul (1 vCPU, 128 MiB, 1 GiB; made untimed), on which every change is taken
// once, in this order: snapshot S of the running guest; revert to S (S's layer is then the active one); delete
// S (an active blockcommit with a pivot onto L0); rebuild from the image; resize to 1 vCPU, 192 MiB, 2 GiB.
// A resize cannot be undone (shrinking is refused), so a fresh capsul per run is what lets every run resize
// from the same size to the same size on both sides; it goes last because after it the guest is bigger. The
// hub's capsul and the by-hand domain are never up at the same time (one guest at a time, as for create),
// and which side goes first alternates from run to run. Between changes each side waits, untimed, for the
// guest's web server to answer, so no change is measured against a guest still booting (after the resize,
// the last, the capsul is destroyed at once).
//
// Hub time: the operation's createdAt → completedAt as the hub records them (its row written before the
// offer; its completion written when the spoke's report arrives). The bench waits for the hub's "change
// completed" log line, so no poller loads the machine meanwhile; the call → log line time seen here is
// kept as a note. By hand: the commands the driver's apply runs for that change, from its first step to the
// guest's address (polling `domifaddr --source lease` every 250 ms, as the driver does), not the offer's
// checks, the journal, or the reads of the state and snapshots that go into the report: those are the
// control plane's. The resize needs a catalog size bigger than the guest; the hub has no API to add one, so
// the bench's hub runs on a PostgreSQL server of its own and the bench inserts the row ("bench-resize").
import { readdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { execa } from 'execa';
import pg from 'pg';
import { buildSeedIso } from '~/spoke/hypervisor/libvirt/cloud-init';
import { domainXml, withBoot, withDiskSource, withMetadata } from '~/spoke/hypervisor/libvirt/domain-xml';
import { diskSource, parseBackingChain, parseDomifaddr, parseQemuImgInfo } from '~/spoke/hypervisor/libvirt/parse';
import { TEST_GUEST } from '../build-test-guest';
import { allOnline, startHubProcess, startSpokeProcess, type CapsulProcess, type Hub, type LogLine, type SpokeHandle } from '../../test/support/processes';
import { disksDir, requireLibvirt, testGuestImages } from '../../test/support/libvirt';
import { startPrivatePostgres } from '../../test/support/private-postgres';
import { makeTestTls } from '../../test/support/tls';
import { median, row, TABLE_HEAD, type Figure } from './stats';

const GUEST = { vcpus: 1, memoryMb: 128, diskGb: 1 };
const BIGGER = { id: 'bench-resize', name: 'Bench resize', vcpus: 1, memoryMb: 192, diskGb: 2 };
const CHANGES = ['snapshot', 'revert', 'delete', 'rebuild', 'resize'] as const;
type Change = (typeof CHANGES)[number];
const NAMES: Record<Change, string> = {
  snapshot: 'real snapshot of a running capsul',
  revert: 'real revert to it, running (stop, new layer, start, address)',
  delete: 'real delete of it, active layer, running (blockcommit --pivot)',
  rebuild: 'real rebuild, running (stop, new disk and seed, start, address)',
  resize: `real resize, running, to ${BIGGER.memoryMb} MiB, ${BIGGER.diskGb} GiB (ACPI shutdown, grow, start, address)`,
};
const GiB = 1024 ** 3;

const virsh = async (...args: string[]) => (await execa('virsh', ['-c', 'qemu:///system', ...args])).stdout;
const qemuImg = async (...args: string[]) => (await execa('qemu-img', args)).stdout;
const info = async (file: string) => parseQemuImgInfo(await qemuImg('info', '-U', '--output=json', file));
const isLive = (state: string) => state !== 'shut off' && state !== 'crashed';
const since = (t: number) => performance.now() - t;

async function domstate(id: string): Promise<string | null> {
  const r = await execa('virsh', ['-c', 'qemu:///system', 'domstate', id], { reject: false });
  return r.exitCode === 0 ? r.stdout.trim() : null;
}

/** Waits (untimed) until the guest's web server answers: its boot is over. */
async function guestUp(ipv4: string): Promise<void> {
  const deadline = Date.now() + 180_000;
  while (Date.now() < deadline) {
    const ok = await fetch(`http://${ipv4}/boot`, { signal: AbortSignal.timeout(2000) }).then((r) => r.ok, () => false);
    if (ok) return;
    await sleep(500);
  }
  throw new Error(`the guest at ${ipv4} did not answer HTTP within 180 s`);
}

/** A domain defined as real-create's by-hand one, changed with the driver's commands typed out in order. */
class ByHand {
  readonly l0: string;
  readonly seed: string;
  readonly xml: string;
  ipv4 = '';

  constructor(
    readonly id: string,
    private readonly images: string,
    private readonly disks: string,
  ) {
    const base = path.join(disks, id);
    [this.l0, this.seed, this.xml] = [`${base}.qcow2`, `${base}-seed.iso`, `${base}.xml`];
  }

  layer(snapshot: string) {
    return path.join(this.disks, `${this.id}.${snapshot}.qcow2`);
  }

  private get directBoot() {
    const g = TEST_GUEST;
    return { kernel: path.join(this.images, g.kernel), initrd: path.join(this.images, g.initrd), cmdline: g.cmdline };
  }

  /** Untimed: real-create's by-hand create, then the guest's web server. */
  async create(): Promise<void> {
    const base = path.join(this.images, TEST_GUEST.file);
    await qemuImg('create', '-q', '-f', 'qcow2', '-b', base, '-F', 'qcow2', this.l0, `${GUEST.diskGb}G`);
    await buildSeedIso({ id: this.id, sshAuthorizedKeys: [], output: this.seed, workDir: this.disks });
    await writeFile(this.xml, domainXml({
      name: this.id, type: 'qemu', memoryMb: GUEST.memoryMb, vcpus: GUEST.vcpus, disk: this.l0, seed: this.seed, nic: { network: 'default' },
      consoleSocket: path.join(this.disks, `${this.id}.console.sock`), consoleLog: path.join(this.disks, `${this.id}.console.log`),
      directBoot: this.directBoot, metadata: { diskGb: GUEST.diskGb, image: TEST_GUEST.id, operationId: 'by-hand' },
    }));
    await virsh('define', this.xml);
    await virsh('start', this.id);
    await this.address();
    await guestUp(this.ipv4);
  }

  /** The lease, every 250 ms (the driver's wait for an address). */
  private async address(): Promise<void> {
    for (;;) {
      const { ipv4 } = parseDomifaddr(await virsh('domifaddr', this.id, '--source', 'lease'));
      if (ipv4) {
        this.ipv4 = ipv4;
        return;
      }
      await sleep(250);
    }
  }

  /** The driver's boot: its console check (`dumpxml --inactive`), start, the address. */
  private async boot(): Promise<void> {
    await virsh('dumpxml', '--inactive', this.id);
    await virsh('start', this.id);
    await this.address();
  }

  private async redefine(edit: (xml: string) => string): Promise<void> {
    await writeFile(this.xml, edit(await virsh('dumpxml', '--inactive', this.id)), { mode: 0o644 });
    await virsh('define', this.xml);
  }

  private async persistOn(file: string): Promise<void> {
    if (diskSource(await virsh('dumpxml', '--inactive', this.id), 'vda') !== file) await this.redefine((xml) => withDiskSource(xml, 'vda', file));
  }

  private async activeDisk(): Promise<string> {
    return diskSource(await virsh('dumpxml', this.id), 'vda')!;
  }

  private async ownLayers(top: string) {
    const chain = parseBackingChain(await qemuImg('info', '-U', '--backing-chain', '--output=json', top));
    return chain.filter((l) => path.basename(l.file).startsWith(`${this.id}.`));
  }

  private async removeLayersOutside(top: string): Promise<void> {
    const keep = new Set((await this.ownLayers(top)).map((l) => path.basename(l.file)));
    for (const name of await readdir(this.disks)) {
      if (name.startsWith(`${this.id}.snap-`) && name.endsWith('.qcow2') && !keep.has(name)) await rm(path.join(this.disks, name), { force: true });
    }
  }

  private async whileStopped(how: 'shutdown' | 'destroy', work: () => Promise<void>): Promise<void> {
    if (isLive((await domstate(this.id)) ?? 'shut off')) {
      if (how === 'shutdown') {
        await virsh('shutdown', this.id);
        while (isLive((await domstate(this.id)) ?? 'shut off')) await sleep(250);
      } else {
        await virsh('destroy', this.id);
      }
    }
    await work();
    await this.boot();
  }

  /** Returns the time from `suspend` returning to `resume` returning: the driver's pausedMs. */
  async snapshot(snapshot: string): Promise<number> {
    const file = this.layer(snapshot);
    await stat(file).then(() => Promise.reject(new Error(`${file} exists`)), () => undefined);
    await this.activeDisk();
    await virsh('suspend', this.id);
    const pausedAt = performance.now();
    await virsh('snapshot-create-as', this.id, snapshot, '--disk-only', '--atomic', '--no-metadata', '--diskspec', `vda,snapshot=external,file=${file}`, '--diskspec', 'vdb,snapshot=no');
    await virsh('resume', this.id);
    const paused = since(pausedAt);
    await this.persistOn(file);
    return paused;
  }

  async revert(snapshot: string): Promise<void> {
    await this.whileStopped('destroy', async () => {
      const file = this.layer(snapshot);
      await stat(file);
      const frozen = (await info(file)).backingFile!;
      const sizes = await Promise.all([file, frozen, await this.activeDisk()].map((f) => info(f).then((i) => i.virtualSize)));
      await qemuImg('create', '-q', '-f', 'qcow2', '-b', frozen, '-F', 'qcow2', `${file}.new`, String(Math.max(...sizes)));
      await rename(`${file}.new`, file);
      await this.redefine((xml) => withDiskSource(xml, 'vda', file));
      await this.removeLayersOutside(file);
    });
  }

  /** The snapshot's layer is the active one (after a revert to it): merged into L0 under the running guest. */
  async delete(snapshot: string): Promise<void> {
    const file = this.layer(snapshot);
    const active = await this.activeDisk();
    const layers = await this.ownLayers(active);
    const at = layers.findIndex((l) => l.file === file);
    if (at < 1 || file !== active) throw new Error(`by hand: ${snapshot} is not the active layer over L0`);
    await virsh('blockcommit', this.id, 'vda', '--active', '--shallow', '--pivot', '--wait');
    await this.persistOn(layers[at - 1]!.file);
    await rm(file, { force: true });
  }

  async rebuild(): Promise<void> {
    await this.whileStopped('destroy', async () => {
      const base = path.join(this.images, TEST_GUEST.file);
      const { format } = await info(base);
      await qemuImg('create', '-q', '-f', 'qcow2', '-b', base, '-F', format, `${this.l0}.new`, `${GUEST.diskGb}G`);
      await buildSeedIso({ id: this.id, sshAuthorizedKeys: [], output: `${this.seed}.new`, workDir: this.disks });
      await rename(`${this.seed}.new`, this.seed);
      await rename(`${this.l0}.new`, this.l0);
      await this.redefine((xml) => withMetadata(withBoot(withDiskSource(xml, 'vda', this.l0), this.directBoot), { diskGb: GUEST.diskGb, image: TEST_GUEST.id }));
      await this.removeLayersOutside(this.l0);
    });
  }

  async resize(): Promise<void> {
    await this.whileStopped('shutdown', async () => {
      const active = await this.activeDisk();
      if (BIGGER.diskGb * GiB > (await info(active)).virtualSize) await qemuImg('resize', '-q', active, `${BIGGER.diskGb}G`);
      await virsh('setmaxmem', this.id, `${BIGGER.memoryMb}M`, '--config');
      await virsh('setmem', this.id, `${BIGGER.memoryMb}M`, '--config');
      await virsh('setvcpus', this.id, String(BIGGER.vcpus), '--config', '--maximum');
      await virsh('setvcpus', this.id, String(BIGGER.vcpus), '--config');
      await this.redefine((xml) => withMetadata(xml, { diskGb: BIGGER.diskGb }));
    });
  }

  async remove(): Promise<void> {
    await virsh('destroy', this.id).catch(() => {});
    await virsh('undefine', this.id);
    for (const name of await readdir(this.disks)) if (name.startsWith(this.id)) await rm(path.join(this.disks, name), { force: true });
  }
}

/** How long an operation took through the hub, and where the time went (from both processes' log lines). */
type Through = { recorded: number; seen: number; offer: number; driver: number; report: number; result: Record<string, unknown> };

export async function benchRealChanges(runs = Number(process.argv[2] ?? 5)): Promise<{ figures: Figure[]; notes: string[] }> {
  await requireLibvirt();
  const images = await testGuestImages();
  const disks = await disksDir('bench-changes');
  const tls = await makeTestTls();
  const db = await startPrivatePostgres();
  let hub: Hub | undefined;
  let spoke: SpokeHandle | undefined;
  const hubCapsuls: string[] = [];
  const handDomains: ByHand[] = [];
  try {
    // As real-create: the production heartbeat period (the tests use 1 s).
    hub = await startHubProcess({ databaseUrl: db.url, tls, env: { SPOKE_CALL_TIMEOUT_MS: '20000', HEARTBEAT_PERIOD_MS: '5000', ONLINE_WINDOW_MS: '15000' } });
    spoke = await startSpokeProcess({
      hub, hostId: 'bench-kvm', tls,
      env: { SPOKE_DRIVER: 'libvirt', LIBVIRT_DOMAIN_TYPE: 'qemu', SPOKE_IMAGES_DIR: images.dir, SPOKE_DISKS_DIR: disks, SPOKE_MEMORY_RESERVE_MB: '512' },
    });
    const { admin, proc: hubProc } = hub;
    const spokeProc = spoke.proc;
    await allOnline(hub, ['bench-kvm']);
    const { id: image, name, file, kernel, initrd, cmdline } = images.image;
    await admin.image.upsert.mutate({ id: image, name, file, kernel, initrd, cmdline });
    const sql = new pg.Client({ connectionString: db.url });
    await sql.connect();
    await sql.query(`INSERT INTO "VmSize" (id, name, vcpus, "memoryMb", "diskGb", "sortOrder") VALUES ($1, $2, $3, $4, $5, 99)`, [BIGGER.id, BIGGER.name, BIGGER.vcpus, BIGGER.memoryMb, BIGGER.diskGb]);
    await sql.end();

    const timeOf = (l: LogLine) => Date.parse(String(l.time));
    const logLine = (proc: CapsulProcess, msg: string, operationId: string) => proc.waitFor((l) => l.msg === msg && l.operationId === operationId, 600_000);
    /** Starts a change, waits for the hub's "change completed" line, reads the operation. */
    async function throughHub(start: () => Promise<{ operationId: string }>): Promise<Through> {
      const t = performance.now();
      const { operationId } = await start();
      const done = await logLine(hubProc, 'change completed', operationId);
      const seen = since(t);
      const op = await admin.operation.byId.query({ id: operationId });
      if (op.state !== 'completed' || !op.completedAt) throw new Error(`${op.kind} ${op.state}: ${op.error ?? JSON.stringify(done)}`);
      const [began, ended] = await Promise.all([logLine(spokeProc, 'change', operationId), logLine(spokeProc, 'change done', operationId)]);
      const created = op.createdAt.getTime();
      const completed = op.completedAt.getTime();
      return {
        recorded: completed - created, seen,
        offer: timeOf(began) - created, driver: timeOf(ended) - timeOf(began), report: completed - timeOf(ended),
        result: (op.hostOperations[0]?.result ?? {}) as Record<string, unknown>,
      };
    }

    const hubTimes = Object.fromEntries(CHANGES.map((c) => [c, [] as Through[]])) as Record<Change, Through[]>;
    const handTimes = Object.fromEntries(CHANGES.map((c) => [c, [] as number[]])) as Record<Change, number[]>;
    const handPaused: number[] = [];

    async function hubRun(): Promise<void> {
      const created = await admin.capsul.create.mutate({ owner: 'bench@example.com', image, ...GUEST });
      const id = created.capsulId;
      hubCapsuls.push(id);
      const running = async () => {
        for (;;) {
          const c = await admin.capsul.byId.query({ id });
          if (c.state === 'running' && c.ipv4) return c;
          if (c.state === 'failed') throw new Error(`create failed: ${c.error}`);
          await sleep(250);
        }
      };
      const capsul = await running();
      await guestUp(capsul.ipv4!);
      let snapshotId = '';
      hubTimes.snapshot.push(await throughHub(async () => {
        const taken = await admin.snapshot.create.mutate({ capsulId: id, name: 'bench' });
        snapshotId = taken.snapshotId;
        return taken;
      }));
      hubTimes.revert.push(await throughHub(() => admin.snapshot.revert.mutate({ capsulId: id, snapshotId })));
      await guestUp((await running()).ipv4!);
      hubTimes.delete.push(await throughHub(() => admin.snapshot.delete.mutate({ capsulId: id, snapshotId })));
      hubTimes.rebuild.push(await throughHub(() => admin.capsul.rebuild.mutate({ id, image, sshAuthorizedKeys: [], confirm: capsul.name })));
      await guestUp((await running()).ipv4!);
      hubTimes.resize.push(await throughHub(() => admin.capsul.resize.mutate({ id, size: BIGGER.id })));
      await admin.capsul.destroy.mutate({ id });
      while ((await domstate(id)) !== null) await sleep(250);
      hubCapsuls.pop();
    }

    async function handRun(n: number): Promise<void> {
      const d = new ByHand(`capsul-bychg${String(n).padStart(5, '0')}`, images.dir, disks);
      handDomains.push(d);
      await d.create();
      const snapshot = `snap-byhand${String(n).padStart(4, '0')}`;
      const timed = async (change: Change, work: () => Promise<unknown>) => {
        const t = performance.now();
        await work();
        handTimes[change].push(since(t));
      };
      await timed('snapshot', async () => handPaused.push(await d.snapshot(snapshot)));
      await timed('revert', () => d.revert(snapshot));
      await guestUp(d.ipv4);
      await timed('delete', () => d.delete(snapshot));
      await timed('rebuild', () => d.rebuild());
      await guestUp(d.ipv4);
      await timed('resize', () => d.resize());
      await d.remove();
      handDomains.pop();
    }

    for (let n = 0; n < runs; n++) {
      // Which side goes first alternates: the machine's speed drifts over minutes.
      if (n % 2 === 0) {
        await handRun(n);
        await hubRun();
      } else {
        await hubRun();
        await handRun(n);
      }
      const each = CHANGES.map((c) => `${c} ${handTimes[c].at(-1)!.toFixed(0)}/${hubTimes[c].at(-1)!.recorded.toFixed(0)}`).join(', ');
      console.error(`run ${n + 1}/${runs} (by hand / through hub, ms): ${each}; paused ${handPaused.at(-1)!.toFixed(0)}/${String(hubTimes.snapshot.at(-1)!.result.pausedMs)}`);
    }

    const figures: Figure[] = CHANGES.map((c) => ({
      name: `${NAMES[c]} (hub + spoke, libvirt)`, floorName: 'same commands by hand', unit: 'ms',
      samples: hubTimes[c].map((t) => t.recorded), floor: handTimes[c], target: { median: 1.1 },
    }));
    const paused = hubTimes.snapshot.map((t) => Number(t.result.pausedMs));
    figures.push({ name: 'guest paused by a running snapshot (as the spoke reports it)', floorName: 'suspend → snapshot-create-as → resume by hand', unit: 'ms', samples: paused, floor: handPaused });
    const m = (xs: number[]) => median(xs).toFixed(0);
    const notes = [
      `Changes: ${runs} alternating run${runs === 1 ? '' : 's'}, each on a fresh capsul (1 vCPU, 128 MiB, 1 GiB) on both sides. Hub time is the operation's createdAt → completedAt as the hub records them; from the tRPC call to the hub's "change completed" log line reaching this process, medians were ${CHANGES.map((c) => `${c} ${m(hubTimes[c].map((t) => t.seen))} ms`).join(', ')}.`,
      `Changes, where the hub path's time goes (medians, from the operation's row and the spoke's log lines): ${CHANGES.map((c) => `${c}: offer ${m(hubTimes[c].map((t) => t.offer))} + driver ${m(hubTimes[c].map((t) => t.driver))} + report ${m(hubTimes[c].map((t) => t.report))} ms (by hand ${m(handTimes[c])} ms)`).join('; ')}. Offer: the row written → the spoke starting the change (the HTTPS call, the offer's checks, the journal); driver: the driver's apply, with its reads of the state and snapshots for the report; report: the outbox, the HTTPS completion and its transaction.`,
      `Running snapshot: the guest was paused ${m(paused)} ms (median, as the spoke reports it), ${m(handPaused)} ms by hand.`,
    ];
    return { figures, notes };
  } finally {
    for (const id of hubCapsuls) await hub?.admin.capsul.destroy.mutate({ id }).catch(() => {});
    for (const d of handDomains) await d.remove().catch(() => {});
    await spoke?.proc.stop();
    await hub?.proc.stop();
    await db.stop();
    for (const name of await readdir(disks).catch(() => [])) {
      // Domains the spoke had not removed yet when it stopped.
      const id = /^(capsul-[a-z0-9]{10})\./.exec(name)?.[1];
      if (id && (await domstate(id)) !== null) await virsh('destroy', id).catch(() => {}).then(() => virsh('undefine', id).catch(() => {}));
    }
    await rm(disks, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { figures, notes } = await benchRealChanges();
  console.log(`${TABLE_HEAD}\n${figures.map(row).join('\n')}\n\n${notes.map((n) => `- ${n}`).join('\n')}`);
  process.exit(0);
}
