// Parsers of virsh and qemu-img output. Tested on outputs recorded from real runs (test/fixtures).
import type { VmState } from '~/contract/capsul';

/** `virsh list --all`: the table of domains with their state (which may contain spaces: "shut off"). */
export function parseListAll(stdout: string): { name: string; state: string }[] {
  const rows: { name: string; state: string }[] = [];
  for (const line of stdout.split('\n')) {
    const match = /^\s*(\d+|-)\s+(\S+)\s+(\S.*?)\s*$/.exec(line);
    if (match && match[2] !== 'Name') rows.push({ name: match[2]!, state: match[3]! });
  }
  return rows;
}

/** libvirt's state words as a capsul state. */
export function toVmState(virshState: string): VmState {
  switch (virshState.trim()) {
    case 'running':
    case 'idle':
    case 'blocked':
      return 'running';
    case 'paused':
    case 'pmsuspended':
      return 'paused';
    case 'in shutdown':
      return 'shutting_down';
    case 'crashed':
      return 'crashed';
    default: // 'shut off', 'no state'
      return 'stopped';
  }
}

/**
 * `virsh domifaddr <dom> --source lease|arp`: the first usable IPv4 and IPv6 address, without prefix length.
 * An interface's further addresses come on lines of their own with `-` for its name and MAC. Link-local
 * addresses (fe80::/10, 169.254/16) are skipped: nobody outside the link can use them.
 */
export function parseDomifaddr(stdout: string): { ipv4?: string; ipv6?: string } {
  const found: { ipv4?: string; ipv6?: string } = {};
  for (const line of stdout.split('\n')) {
    const match = /^\s*\S+\s+(?:[0-9a-fA-F:]{17}|-)\s+(ipv4|ipv6)\s+([0-9a-fA-F.:]+)\/\d+\s*$/.exec(line);
    if (!match) continue;
    const [, protocol, address] = match as unknown as [string, 'ipv4' | 'ipv6', string];
    if (/^fe[89ab]/i.test(address) || address.startsWith('169.254.')) continue;
    found[protocol] ??= address.toLowerCase();
  }
  return found;
}

export type NodeMemory = { totalKib: number; freeKib: number; buffersKib: number; cachedKib: number };

/** `virsh nodememstats`. */
export function parseNodeMemStats(stdout: string): NodeMemory {
  const value = (key: string) => {
    const match = new RegExp(`^${key}\\s*:\\s*(\\d+) KiB`, 'm').exec(stdout);
    if (!match) throw new Error(`virsh nodememstats: no "${key}" in its output`);
    return Number(match[1]);
  };
  return { totalKib: value('total'), freeKib: value('free'), buffersKib: value('buffers'), cachedKib: value('cached') };
}

/** `virsh domstats [--raw]`: each domain's fields (`state.state`, `net.0.rx.bytes`…) as they were printed. */
export function parseDomstatsFields(stdout: string): Map<string, Map<string, string>> {
  const domains = new Map<string, Map<string, string>>();
  let current: Map<string, string> | undefined;
  for (const line of stdout.split('\n')) {
    const domain = /^Domain: '(.+)'$/.exec(line);
    if (domain) {
      current = new Map();
      domains.set(domain[1]!, current);
      continue;
    }
    const field = /^\s+([\w.]+)=(.*)$/.exec(line);
    if (field && current) current.set(field[1]!, field[2]!);
  }
  return domains;
}

/** A numeric field, or undefined when it is absent or not a number. */
function numberField(fields: Map<string, string>, key: string): number | undefined {
  const text = fields.get(key);
  if (text === undefined || !/^\d+(\.\d+)?$/.test(text)) return undefined;
  return Number(text);
}

/** `virsh domstats --balloon --state`: each domain's maximum memory (KiB) and whether it is running. */
export function parseDomstats(stdout: string): Map<string, { maxMemoryKib: number; state: number }> {
  const domains = new Map<string, { maxMemoryKib: number; state: number }>();
  for (const [name, fields] of parseDomstatsFields(stdout)) {
    domains.set(name, { maxMemoryKib: numberField(fields, 'balloon.maximum') ?? 0, state: numberField(fields, 'state.state') ?? 0 });
  }
  return domains;
}

/** The sum of `<group>.N.<key>` over N in 0..`<group>.count` - 1 (every interface, every disk). */
function sumOver(fields: Map<string, string>, group: 'net' | 'block', key: string): number {
  let sum = 0;
  const count = numberField(fields, `${group}.count`) ?? 0;
  for (let n = 0; n < count; n++) sum += numberField(fields, `${group}.${n}.${key}`) ?? 0;
  return sum;
}

export type DomainCounters = {
  vcpus: number;
  cpuNs: number;
  memoryBytes: number;
  netInBytes: number;
  netOutBytes: number;
  diskReadBytes: number;
  diskWriteBytes: number;
};

/**
 * `virsh domstats --raw --state --cpu-total --balloon --vcpu --interface --block`: the cumulative counters of
 * each running domain (state 1). Memory in use is the guest's own view when its balloon driver reports one
 * (available - unused), else QEMU's resident memory capped at the domain's current memory (a guest without
 * balloon statistics, like the test guest: QEMU's own overhead is not the guest's use). Interface counters
 * are the guest's view (libvirt swaps the tap device's): rx is what came in to the guest.
 */
export function parseUsageDomstats(stdout: string): Map<string, DomainCounters> {
  const domains = new Map<string, DomainCounters>();
  for (const [name, fields] of parseDomstatsFields(stdout)) {
    if (numberField(fields, 'state.state') !== 1) continue;
    const kib = (key: string) => numberField(fields, `balloon.${key}`);
    const available = kib('available');
    const unused = kib('unused');
    const current = kib('current');
    const rss = kib('rss');
    let memoryKib = 0;
    if (available !== undefined && unused !== undefined) memoryKib = Math.max(0, available - unused);
    else if (rss !== undefined) memoryKib = current !== undefined ? Math.min(rss, current) : rss;
    domains.set(name, {
      vcpus: numberField(fields, 'vcpu.current') ?? 1,
      cpuNs: numberField(fields, 'cpu.time') ?? 0,
      memoryBytes: memoryKib * 1024,
      netInBytes: sumOver(fields, 'net', 'rx.bytes'),
      netOutBytes: sumOver(fields, 'net', 'tx.bytes'),
      diskReadBytes: sumOver(fields, 'block', 'rd.bytes'),
      diskWriteBytes: sumOver(fields, 'block', 'wr.bytes'),
    });
  }
  return domains;
}

export type ImageInfo = { format: string; virtualSize: number; actualSize: number; backingFile?: string };

/** `qemu-img info --output=json`. */
export function parseQemuImgInfo(stdout: string): ImageInfo {
  const info = JSON.parse(stdout) as Record<string, unknown>;
  if (typeof info.format !== 'string' || typeof info['virtual-size'] !== 'number') {
    throw new Error('qemu-img info: unexpected output');
  }
  return {
    format: info.format,
    virtualSize: info['virtual-size'],
    actualSize: typeof info['actual-size'] === 'number' ? info['actual-size'] : 0,
    backingFile: typeof info['full-backing-filename'] === 'string' ? info['full-backing-filename'] : undefined,
  };
}

/** virsh's way of saying the domain does not exist. */
export function isNoSuchDomain(stderr: string): boolean {
  return /failed to get domain|Domain not found|no domain with matching name/i.test(stderr);
}

export function isNotRunning(stderr: string): boolean {
  return /domain is not running|Domain is not running/i.test(stderr);
}

/** `virsh net-dumpxml`: the address families the network hands out by DHCP (its `<ip>` elements with a
 * `<dhcp>` inside; IPv4 unless `family="ipv6"`), so the leases are worth waiting for. */
export function networkFamilies(xml: string): { ipv4: boolean; ipv6: boolean } {
  const families = { ipv4: false, ipv6: false };
  for (const [, attributes, body] of xml.matchAll(/<ip\b([^>]*[^/])?>([\s\S]*?)<\/ip>/g)) {
    if (body!.includes('<dhcp')) families[/\bfamily=["']ipv6["']/.test(attributes ?? '') ? 'ipv6' : 'ipv4'] = true;
  }
  return families;
}

export type ChainLayer = ImageInfo & { file: string };

/** `qemu-img info --backing-chain --output=json <active>`: the disk's layers, oldest (the base) first. */
export function parseBackingChain(stdout: string): ChainLayer[] {
  const layers = JSON.parse(stdout) as unknown;
  if (!Array.isArray(layers)) throw new Error('qemu-img info --backing-chain: unexpected output');
  return layers
    .map((layer: Record<string, unknown>) => {
      if (typeof layer.filename !== 'string') throw new Error('qemu-img info --backing-chain: a layer without a filename');
      return { file: layer.filename, ...parseQemuImgInfo(JSON.stringify(layer)) };
    })
    .reverse();
}

function xmlUnescape(value: string): string {
  return value.replace(/&(lt|gt|quot|apos|amp);/g, (_, e: string) => ({ lt: '<', gt: '>', quot: '"', apos: "'", amp: '&' })[e]!);
}

/** The file behind a disk of a domain XML (`virsh dumpxml`), by its target (`vda`); null when it has none. */
export function diskSource(xml: string, target: string): string | null {
  for (const [disk] of xml.matchAll(/<disk\b[\s\S]*?<\/disk>/g)) {
    if (!new RegExp(`<target\\b[^>]*\\bdev=['"]${target}['"]`).test(disk)) continue;
    // The disk's own source comes before its <backingStore> chain.
    const source = /<source\b[^>]*\bfile=['"]([^'"]+)['"]/.exec(disk);
    return source ? xmlUnescape(source[1]!) : null;
  }
  return null;
}

/** vCPUs (the current count) and memory (MiB) of a domain XML. */
export function domainSize(xml: string): { vcpus: number; memoryMb: number } {
  const vcpu = /<vcpu\b([^>]*)>(\d+)<\/vcpu>/.exec(xml);
  const memory = /<memory\b[^>]*?(?:\bunit=['"](\w+)['"])?[^>]*>(\d+)<\/memory>/.exec(xml);
  if (!vcpu || !memory) throw new Error('virsh dumpxml: no <vcpu> or <memory> in the domain XML');
  const current = /\bcurrent=['"](\d+)['"]/.exec(vcpu[1]!);
  const kib: Record<string, number> = { KiB: 1, k: 1, K: 1, MiB: 1024, M: 1024, GiB: 1024 ** 2, G: 1024 ** 2, b: 1 / 1024, bytes: 1 / 1024 };
  const unit = kib[memory[1] ?? 'KiB'];
  if (unit === undefined) throw new Error(`virsh dumpxml: memory in an unknown unit ${memory[1]}`);
  return { vcpus: Number(current?.[1] ?? vcpu[2]), memoryMb: Math.floor((Number(memory[2]) * unit) / 1024) };
}

/**
 * `virsh blockjob <dom> <disk> --info --raw`: the disk's block job, or null (an empty answer). Without --raw
 * virsh prints the progress to stderr.
 */
export function parseBlockJob(stdout: string): { type: string; cur: number; end: number } | null {
  const type = /^\s*type=(.+?)\s*$/m.exec(stdout);
  if (!type) return null;
  const number = (key: string) => Number(new RegExp(`^\\s*${key}=(\\d+)\\s*$`, 'm').exec(stdout)?.[1] ?? 0);
  return { type: type[1]!, cur: number('cur'), end: number('end') };
}
