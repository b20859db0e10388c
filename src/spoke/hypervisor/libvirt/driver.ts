import type { Env } from '~/env';
import type { Logger } from '~/lib/log';
import type { Hypervisor } from '../types';

export class LibvirtHypervisor {
  static async open(_env: Env, _log: Logger): Promise<Hypervisor> {
    throw new Error('libvirt driver: not built yet');
  }
}
