// What the libvirt tests need from the machine: a running libvirtd with its default network, and the test
// guest built from Debian packages. Missing pieces fail with what to install, never skip.
import { chmod, mkdir, readFile, readdir } from 'node:fs/promises';
import path from 'node:path';
import { execa } from 'execa';
import { buildTestGuest, STAMP_FILE, TEST_GUEST, testGuestStamp } from '../../scripts/build-test-guest';
import { ROOT } from './processes';

export const LIBVIRT_URI = 'qemu:///system';
const HOW = 'apt-get install -y qemu-utils qemu-system-x86 libvirt-clients libvirt-daemon libvirt-daemon-system dnsmasq-base iptables xorriso, then start it with scripts/services.sh (as root)';

export async function virsh(...args: string[]) {
  return execa('virsh', ['-c', LIBVIRT_URI, ...args], { reject: false });
}

export async function requireLibvirt(): Promise<void> {
  const version = await virsh('version').catch((err: Error) => ({ exitCode: 1, stderr: err.message }));
  if (version.exitCode !== 0) throw new Error(`libvirt does not answer at ${LIBVIRT_URI} (${String(version.stderr).trim()}): ${HOW}`);
  const net = await virsh('net-info', 'default');
  if (net.exitCode !== 0 || !/Active:\s+yes/.test(String(net.stdout))) throw new Error(`libvirt's default network is not active: ${HOW}`);
  for (const tool of ['qemu-img', 'xorriso']) {
    await execa(tool, ['--version']).catch(() => {
      throw new Error(`${tool} is not installed: ${HOW}`);
    });
  }
}

/** Builds the test guest once per machine into a folder QEMU (running as libvirt-qemu) can read. */
export async function testGuestImages(): Promise<{ dir: string; image: typeof TEST_GUEST }> {
  const dir = '/var/tmp/capsul-test-images';
  await mkdir(dir, { recursive: true });
  await chmod(dir, 0o755);
  const have = await readdir(dir);
  const stamp = await readFile(path.join(dir, STAMP_FILE), 'utf8').catch(() => '');
  if (![TEST_GUEST.file, TEST_GUEST.kernel, TEST_GUEST.initrd].every((f) => have.includes(f)) || stamp !== (await testGuestStamp())) {
    await buildTestGuest(dir, path.join(ROOT, '.data/cache/test-guest'));
  }
  return { dir, image: TEST_GUEST };
}

/** A folder for capsul disks that QEMU can reach. */
export async function disksDir(name: string): Promise<string> {
  const dir = path.join('/var/tmp', `capsul-test-disks-${name}-${process.pid}`);
  await mkdir(dir, { recursive: true });
  await chmod(dir, 0o755);
  return dir;
}

export async function domainState(id: string): Promise<string | null> {
  const r = await virsh('domstate', id);
  return r.exitCode === 0 ? String(r.stdout).trim() : null;
}

/** Stops libvirtd (by its pid file) for a failure test; `startLibvirtd` brings it back. */
export async function stopLibvirtd(): Promise<void> {
  const { readFile } = await import('node:fs/promises');
  const pid = Number((await readFile('/run/libvirtd.pid', 'utf8')).trim());
  process.kill(pid, 'SIGTERM');
  for (let i = 0; i < 100; i++) {
    if ((await virsh('uri')).exitCode !== 0) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('libvirtd did not stop');
}

export async function startLibvirtd(): Promise<void> {
  await execa('libvirtd', ['-d', '-p', '/run/libvirtd.pid']);
  for (let i = 0; i < 300; i++) {
    if ((await virsh('version')).exitCode === 0) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('libvirtd did not come back');
}
