// Hosts as separate machines: each process in its own network namespace with its own address, joined by a
// bridge (the root namespace, where the test runs, has an address on it too). Only those addresses are
// ever contacted. Cutting a host off is taking its link down. Needs root and iproute2.
import { randomBytes } from 'node:crypto';
import { execa } from 'execa';

export type Lan = {
  subnet: string;
  address(name: string): string;
  netns(name: string): string;
  cut(name: string): Promise<void>;
  restore(name: string): Promise<void>;
  destroy(): Promise<void>;
};

const ip = (...args: string[]) => execa('ip', args);

export async function createLan(names: string[]): Promise<Lan> {
  if (process.getuid?.() !== 0) throw new Error('network namespaces need root (run the fault suite as root)');
  const tag = randomBytes(2).toString('hex');
  const third = 100 + (parseInt(tag, 16) % 150);
  const subnet = `10.213.${third}`;
  const bridge = `cbr${tag}`;
  const index = new Map(names.map((n, i) => [n, i + 1]));
  const netns = (name: string) => `capsul-${tag}-${name}`;
  const veth = (name: string) => `cv${tag}${index.get(name)}`;
  await ip('link', 'add', bridge, 'type', 'bridge');
  await ip('addr', 'add', `${subnet}.254/24`, 'dev', bridge);
  await ip('link', 'set', bridge, 'up');
  for (const name of names) {
    const ns = netns(name);
    const inner = `ci${tag}${index.get(name)}`;
    await ip('netns', 'add', ns);
    await ip('link', 'add', veth(name), 'type', 'veth', 'peer', 'name', inner);
    await ip('link', 'set', inner, 'netns', ns);
    await ip('-n', ns, 'addr', 'add', `${subnet}.${index.get(name)}/24`, 'dev', inner);
    await ip('-n', ns, 'link', 'set', inner, 'up');
    await ip('-n', ns, 'link', 'set', 'lo', 'up');
    await ip('link', 'set', veth(name), 'master', bridge, 'up');
  }
  return {
    subnet,
    address: (name) => `${subnet}.${index.get(name)}`,
    netns,
    cut: async (name) => void (await ip('link', 'set', veth(name), 'down')),
    restore: async (name) => void (await ip('link', 'set', veth(name), 'up')),
    async destroy() {
      for (const name of names) {
        await ip('netns', 'del', netns(name)).catch(() => {});
        await ip('link', 'del', veth(name)).catch(() => {});
      }
      await ip('link', 'del', bridge).catch(() => {});
    },
  };
}
