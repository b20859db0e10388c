// Picks the spoke's driver. SPOKE_DRIVER=libvirt or fake is obeyed; auto takes libvirt when
// `virsh -c <LIBVIRT_URI> version` answers and otherwise the fake driver, and says so plainly in the log.
import { execa } from 'execa';
import type { Env } from '~/env';
import { errorMessage, type Logger } from '~/lib/log';
import { FakeHypervisor } from './fake';
import type { Hypervisor } from './types';

export async function libvirtAnswers(uri: string): Promise<{ ok: true } | { ok: false; reason: string }> {
  try {
    await execa('virsh', ['-c', uri, 'version'], { timeout: 10_000 });
    return { ok: true };
  } catch (err) {
    const e = err as { code?: string; stderr?: string; shortMessage?: string };
    if (e.code === 'ENOENT') return { ok: false, reason: 'virsh is not installed' };
    return { ok: false, reason: (e.stderr || e.shortMessage || errorMessage(err)).trim().split('\n')[0] ?? 'no answer' };
  }
}

export async function selectHypervisor(env: Env, log: Logger): Promise<Hypervisor> {
  let driver = env.SPOKE_DRIVER;
  if (driver === 'auto') {
    const probe = await libvirtAnswers(env.LIBVIRT_URI);
    if (probe.ok) driver = 'libvirt';
    else {
      log.warn(`spoke driver: fake — libvirt at ${env.LIBVIRT_URI} did not answer (${probe.reason}); capsuls on this host are simulated, not real VMs`);
      driver = 'fake';
    }
  }
  if (driver === 'libvirt') {
    const { LibvirtHypervisor } = await import('./libvirt/driver');
    const hypervisor = await LibvirtHypervisor.open(env, log);
    log.info(`spoke driver: libvirt (${env.LIBVIRT_URI}, domain type ${env.LIBVIRT_DOMAIN_TYPE})`);
    return hypervisor;
  }
  if (env.SPOKE_DRIVER === 'fake') log.info('spoke driver: fake (SPOKE_DRIVER=fake); capsuls on this host are simulated, not real VMs');
  return new FakeHypervisor({
    stateDir: env.SPOKE_STATE_DIR,
    memoryMb: env.FAKE_MEMORY_MB,
    diskGb: env.FAKE_DISK_GB,
    createMs: env.FAKE_CREATE_MS,
    images: env.FAKE_IMAGES,
  });
}
