// Create-to-running of a real capsul (libvirt driver, the test guest) through hub and spoke, against the same
// qemu-img, xorriso and virsh commands run by hand on the same host, alternating, in one process.
// Usage: npm run bench:create -- [runs]   (needs libvirtd: scripts/services.sh)
import { rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { execa } from 'execa';
import { buildSeedIso } from '~/spoke/hypervisor/libvirt/cloud-init';
import { domainXml } from '~/spoke/hypervisor/libvirt/domain-xml';
import { TEST_GUEST } from '../build-test-guest';
import { allOnline, startHubProcess, startSpokeProcess } from '../../test/support/processes';
import { disksDir, requireLibvirt, testGuestImages } from '../../test/support/libvirt';
import { makeTestTls } from '../../test/support/tls';
import { median, row, TABLE_HEAD, type Figure } from './stats';

const GUEST = { vcpus: 1, memoryMb: 128, diskGb: 1 };
const runs = Number(process.argv[2] ?? 5);
const virsh = (...args: string[]) => execa('virsh', ['-c', 'qemu:///system', ...args]);

/** The commands the driver runs, typed out in order, polling the lease at the same 250 ms. */
async function byHand(images: string, disks: string, n: number): Promise<number> {
  const g = TEST_GUEST;
  const id = `capsul-byhand${String(n).padStart(4, '0')}`;
  const base = path.join(images, g.file);
  const disk = path.join(disks, `${id}.qcow2`);
  const seed = path.join(disks, `${id}-seed.iso`);
  const xmlFile = path.join(disks, `${id}.xml`);
  const started = performance.now();
  await execa('qemu-img', ['info', '-U', '--output=json', base]);
  await execa('qemu-img', ['create', '-q', '-f', 'qcow2', '-b', base, '-F', 'qcow2', disk, `${GUEST.diskGb}G`]);
  await buildSeedIso({ id, sshAuthorizedKeys: [], output: seed, workDir: disks });
  await writeFile(xmlFile, domainXml({
    name: id, type: 'qemu', memoryMb: GUEST.memoryMb, vcpus: GUEST.vcpus, disk, seed, nic: { network: 'default' },
    consoleSocket: path.join(disks, `${id}.console.sock`), consoleLog: path.join(disks, `${id}.console.log`),
    directBoot: { kernel: path.join(images, g.kernel), initrd: path.join(images, g.initrd), cmdline: g.cmdline },
    metadata: { diskGb: GUEST.diskGb, image: g.id, operationId: 'by-hand' },
  }));
  await virsh('define', xmlFile);
  await virsh('start', id);
  for (;;) {
    const { stdout } = await virsh('domifaddr', id, '--source', 'lease');
    if (/ipv4/.test(stdout)) break;
    await sleep(250);
  }
  const ms = performance.now() - started;
  await virsh('destroy', id);
  await virsh('undefine', id);
  await Promise.all([disk, seed, xmlFile, path.join(disks, `${id}.console.log`)].map((f) => rm(f, { force: true })));
  return ms;
}

export async function benchRealCreate(): Promise<{ figure: Figure; notes: string }> {
  await requireLibvirt();
  const images = await testGuestImages();
  const disks = await disksDir('bench');
  const tls = await makeTestTls();
  // Production heartbeat period (the tests use 1 s): the control plane's own CPU use slows a TCG guest's boot.
  const hub = await startHubProcess({ tls, env: { SPOKE_CALL_TIMEOUT_MS: '20000', HEARTBEAT_PERIOD_MS: '5000', ONLINE_WINDOW_MS: '15000' } });
  const spoke = await startSpokeProcess({
    hub, hostId: 'bench-kvm', tls,
    env: { SPOKE_DRIVER: 'libvirt', LIBVIRT_DOMAIN_TYPE: 'qemu', SPOKE_IMAGES_DIR: images.dir, SPOKE_DISKS_DIR: disks, SPOKE_MEMORY_RESERVE_MB: '512' },
  });
  try {
    await allOnline(hub, ['bench-kvm']);
    const { id, name, file, kernel, initrd, cmdline } = images.image;
    await hub.admin.image.upsert.mutate({ id, name, file, kernel, initrd, cmdline });
    const through: number[] = [];
    const hand: number[] = [];
    for (let n = 0; n < runs; n++) {
      hand.push(await byHand(images.dir, disks, n));
      const started = performance.now();
      const created = await hub.admin.capsul.create.mutate({ owner: 'bench@example.com', image: id, ...GUEST });
      for (;;) {
        const c = await hub.admin.capsul.byId.query({ id: created.capsulId });
        if (c.state === 'running') break;
        if (c.state === 'failed') throw new Error(`create failed: ${c.error}`);
        await sleep(50);
      }
      through.push(performance.now() - started);
      await hub.admin.capsul.destroy.mutate({ id: created.capsulId });
      console.error(`run ${n + 1}/${runs}: by hand ${hand.at(-1)!.toFixed(0)} ms, through hub and spoke ${through.at(-1)!.toFixed(0)} ms`);
    }
    return {
      figure: { name: 'real create → running (hub + spoke, libvirt)', floorName: 'same commands by hand', unit: 'ms', samples: through, floor: hand, target: { median: 1.1 } },
      notes: `median overhead ${(median(through) - median(hand)).toFixed(0)} ms over ${runs} alternating runs`,
    };
  } finally {
    await spoke.proc.stop();
    await hub.proc.stop();
    await rm(disks, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { figure, notes } = await benchRealCreate();
  console.log(`${TABLE_HEAD}\n${row(figure)}\n\n${notes}`);
  process.exit(0);
}
