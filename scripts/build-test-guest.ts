// Builds the tiny guest the libvirt tests boot, from Debian packages fetched with `apt-get download` (nothing
// is installed on the host): Debian's cloud kernel, a busybox-static initramfs running
// scripts/test-guest/init.sh, and a blank 64 MiB qcow2 base disk. Downloads are cached, so a rebuild takes
// seconds. Usage: npm run test-guest -- <images dir>   (prints the OsImage it makes, as JSON)
import { createHash } from 'node:crypto';
import { chmod, copyFile, cp, mkdir, mkdtemp, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';

export const TEST_GUEST = {
  id: 'capsul-test-guest',
  name: 'Capsul test guest (busybox)',
  file: 'capsul-test-guest.qcow2',
  kernel: 'capsul-test-guest-vmlinuz',
  initrd: 'capsul-test-guest-initrd.gz',
  // tty0 first and ttyS0 last: the kernel writes to both (the screen is not blank), init's output goes to the
  // serial line (the last console=), which is the boot log.
  cmdline: 'console=tty0 console=ttyS0 panic=1 quiet',
};

// Loaded in this order by init.sh (each after its dependencies; resolved from the modules' own modinfo).
const MODULES = ['virtio_pci', 'virtio_blk', 'virtio_net', 'isofs', 'button', 'evdev'];

/** What the built guest is made from (its init and its build); a guest built from other sources is rebuilt. */
export async function testGuestStamp(): Promise<string> {
  const hash = createHash('sha256');
  for (const f of ['test-guest/init.sh', 'build-test-guest.ts']) hash.update(await readFile(path.join(import.meta.dirname, f)));
  return hash.digest('hex');
}
export const STAMP_FILE = 'capsul-test-guest.stamp';

async function exists(file: string) {
  return stat(file).then(() => true, () => false);
}

/** `apt-get download`s a package into the cache unless it is there; returns the .deb path. */
async function download(pkg: string, cacheDir: string): Promise<string> {
  const existing = (await readdir(cacheDir)).find((f) => f.startsWith(`${pkg}_`) && f.endsWith('.deb'));
  if (existing) return path.join(cacheDir, existing);
  try {
    await execa('apt-get', ['download', '-q', pkg], { cwd: cacheDir });
  } catch (err) {
    throw new Error(`apt-get download ${pkg} failed (run apt-get update first?): ${(err as { stderr?: string }).stderr ?? err}`);
  }
  const fetched = (await readdir(cacheDir)).find((f) => f.startsWith(`${pkg}_`) && f.endsWith('.deb'));
  if (!fetched) throw new Error(`apt-get download ${pkg} produced no .deb`);
  return path.join(cacheDir, fetched);
}

/** The versioned kernel package the linux-image-cloud-amd64 metapackage points at. */
async function cloudKernelPackage(): Promise<string> {
  const { stdout } = await execa('apt-cache', ['depends', 'linux-image-cloud-amd64']);
  const match = /Depends: (linux-image-[\w.-]+-cloud-amd64)/.exec(stdout);
  if (!match) throw new Error(`no kernel package behind linux-image-cloud-amd64:\n${stdout}`);
  return match[1]!;
}

/** The `depends=` field of a kernel module's .modinfo section. */
async function moduleDepends(file: string): Promise<string[]> {
  const text = (await readFile(file)).toString('latin1');
  const match = /depends=([\w,-]*)\0/.exec(text);
  return match?.[1] ? match[1].split(',').filter(Boolean) : [];
}

async function findModules(root: string): Promise<Map<string, string>> {
  const found = new Map<string, string>();
  const walk = async (dir: string) => {
    for (const entry of await readdir(dir, { withFileTypes: true })) {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) await walk(full);
      else if (entry.name.endsWith('.ko')) found.set(entry.name.slice(0, -3).replace(/-/g, '_'), full);
    }
  };
  await walk(root);
  return found;
}

export async function buildTestGuest(imagesDir: string, cacheDir = path.resolve('.data/cache/test-guest')) {
  await mkdir(cacheDir, { recursive: true });
  await mkdir(imagesDir, { recursive: true });
  const work = await mkdtemp(path.join(os.tmpdir(), 'capsul-guest-'));
  try {
    const kernelDeb = await download(await cloudKernelPackage(), cacheDir);
    const busyboxDeb = await download('busybox-static', cacheDir);
    await execa('dpkg-deb', ['-x', kernelDeb, path.join(work, 'kernel')]);
    await execa('dpkg-deb', ['-x', busyboxDeb, path.join(work, 'busybox')]);

    const boot = path.join(work, 'kernel/boot');
    const vmlinuz = (await readdir(boot)).find((f) => f.startsWith('vmlinuz-'));
    if (!vmlinuz) throw new Error('the kernel package holds no vmlinuz');
    const modulesRoot = path.join(work, 'kernel/lib/modules');
    const available = await findModules(modulesRoot);

    // Dependency order, from each module's own modinfo.
    const order: string[] = [];
    const visit = async (name: string) => {
      if (order.includes(name)) return;
      const file = available.get(name);
      if (!file) throw new Error(`kernel module ${name} is not in the kernel package`);
      for (const dep of await moduleDepends(file)) await visit(dep);
      order.push(name);
    };
    for (const m of MODULES) await visit(m);

    const root = path.join(work, 'initramfs');
    await mkdir(path.join(root, 'bin'), { recursive: true });
    await mkdir(path.join(root, 'lib/modules'), { recursive: true });
    await copyFile(path.join(work, 'busybox/bin/busybox'), path.join(root, 'bin/busybox'));
    await cp(path.join(import.meta.dirname, 'test-guest/init.sh'), path.join(root, 'init'));
    await chmod(path.join(root, 'init'), 0o755);
    for (const m of order) await copyFile(available.get(m)!, path.join(root, 'lib/modules', `${m}.ko`));
    await writeFile(path.join(root, 'lib/modules/order'), `${order.join('\n')}\n`);

    // newc cpio, gzipped, with the busybox we just unpacked (nothing from the host's own tools but tar-free sh).
    const bb = path.join(work, 'busybox/bin/busybox');
    const initrd = path.join(imagesDir, TEST_GUEST.initrd);
    await execa('sh', ['-c', `cd "${root}" && find . | "${bb}" cpio -o -H newc 2>/dev/null | "${bb}" gzip -9 > "${initrd}.tmp" && mv "${initrd}.tmp" "${initrd}"`]);
    await copyFile(path.join(boot, vmlinuz), path.join(imagesDir, TEST_GUEST.kernel));
    const disk = path.join(imagesDir, TEST_GUEST.file);
    if (!(await exists(disk))) await execa('qemu-img', ['create', '-q', '-f', 'qcow2', disk, '64M']);
    for (const f of [TEST_GUEST.kernel, TEST_GUEST.initrd, TEST_GUEST.file]) await chmod(path.join(imagesDir, f), 0o644);
    await writeFile(path.join(imagesDir, STAMP_FILE), await testGuestStamp());
    return { ...TEST_GUEST, modules: order };
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const dir = process.argv[2];
  if (!dir) {
    console.error('usage: npm run test-guest -- <images dir>');
    process.exit(2);
  }
  const started = performance.now();
  const image = await buildTestGuest(path.resolve(dir));
  console.log(JSON.stringify({ ...image, seconds: Math.round(performance.now() - started) / 1000 }, null, 2));
}
