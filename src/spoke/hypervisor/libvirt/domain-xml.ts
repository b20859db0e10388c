// The libvirt domain XML of a capsul, from a typed description. Every value is escaped; names and paths
// come from validated ids and the spoke's own configuration.

export type DomainSpec = {
  name: string;
  type: 'qemu' | 'kvm';
  memoryMb: number;
  vcpus: number;
  /** The capsul's copy-on-write disk (qcow2). */
  disk: string;
  /** The cloud-init NoCloud seed (ISO 9660, label cidata). */
  seed: string;
  nic: Nic;
  /**
   * The first serial port: a Unix socket libvirt binds (the spoke's console attaches to it, one client at a
   * time, src/spoke/console/) and a log of everything it printed (append="on": kept across reboots; virtlogd
   * rotates it at 2 MiB into .0 … .3). The socket path must stay under 108 bytes.
   */
  consoleSocket: string;
  consoleLog: string;
  /** Direct kernel boot (kernel, initrd, command line) instead of booting the disk. */
  directBoot?: { kernel: string; initrd?: string; cmdline?: string };
  /** Kept in the domain's metadata, so the host alone can say what it promised this capsul. */
  metadata: { diskGb: number; image: string; operationId: string };
};

/** Where the capsul's NIC goes: a libvirt network (NAT, routed, …) or a bridge on the host (public addresses). */
export type Nic = { network: string } | { bridge: string };

export const METADATA_NS = 'https://capsul.dev/xmlns/domain/1';

export function xmlEscape(value: string | number): string {
  return String(value).replace(/[<>&'"]/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', "'": '&apos;', '"': '&quot;' })[c]!);
}

export function domainXml(spec: DomainSpec): string {
  const e = xmlEscape;
  const boot = spec.directBoot
    ? [
        `    <kernel>${e(spec.directBoot.kernel)}</kernel>`,
        spec.directBoot.initrd ? `    <initrd>${e(spec.directBoot.initrd)}</initrd>` : '',
        spec.directBoot.cmdline ? `    <cmdline>${e(spec.directBoot.cmdline)}</cmdline>` : '',
      ].filter(Boolean)
    : ['    <boot dev="hd"/>'];
  return [
    `<domain type="${e(spec.type)}">`,
    `  <name>${e(spec.name)}</name>`,
    '  <metadata>',
    `    <capsul:capsul xmlns:capsul="${METADATA_NS}">`,
    `      <capsul:diskGb>${e(spec.metadata.diskGb)}</capsul:diskGb>`,
    `      <capsul:image>${e(spec.metadata.image)}</capsul:image>`,
    `      <capsul:operation>${e(spec.metadata.operationId)}</capsul:operation>`,
    '    </capsul:capsul>',
    '  </metadata>',
    `  <memory unit="MiB">${e(spec.memoryMb)}</memory>`,
    `  <currentMemory unit="MiB">${e(spec.memoryMb)}</currentMemory>`,
    `  <vcpu>${e(spec.vcpus)}</vcpu>`,
    '  <os>',
    '    <type arch="x86_64" machine="pc">hvm</type>',
    ...boot,
    '  </os>',
    '  <features><acpi/><apic/></features>',
    spec.type === 'kvm' ? '  <cpu mode="host-passthrough"/>' : '',
    '  <clock offset="utc"/>',
    '  <on_poweroff>destroy</on_poweroff>',
    '  <on_reboot>restart</on_reboot>',
    '  <on_crash>destroy</on_crash>',
    '  <devices>',
    '    <disk type="file" device="disk">',
    '      <driver name="qemu" type="qcow2" discard="unmap"/>',
    `      <source file="${e(spec.disk)}"/>`,
    '      <target dev="vda" bus="virtio"/>',
    '    </disk>',
    // The seed as a read-only virtio disk: cloud-init finds NoCloud seeds by their cidata label on any disk.
    '    <disk type="file" device="disk">',
    '      <driver name="qemu" type="raw"/>',
    `      <source file="${e(spec.seed)}"/>`,
    '      <target dev="vdb" bus="virtio"/>',
    '      <readonly/>',
    '    </disk>',
    'bridge' in spec.nic ? '    <interface type="bridge">' : '    <interface type="network">',
    'bridge' in spec.nic ? `      <source bridge="${e(spec.nic.bridge)}"/>` : `      <source network="${e(spec.nic.network)}"/>`,
    '      <model type="virtio"/>',
    '    </interface>',
    ...serialXml(spec),
    ...GRAPHICS_XML,
    '    <memballoon model="none"/>',
    '  </devices>',
    '</domain>',
    '',
  ]
    .filter((line) => line !== '')
    .join('\n');
}

function serialXml(spec: { consoleSocket: string; consoleLog: string }): string[] {
  const e = xmlEscape;
  return [
    '    <serial type="unix">',
    `      <source mode="bind" path="${e(spec.consoleSocket)}"/>`,
    `      <log file="${e(spec.consoleLog)}" append="on"/>`,
    '      <target port="0"/>',
    '    </serial>',
    '    <console type="unix">',
    `      <source mode="bind" path="${e(spec.consoleSocket)}"/>`,
    '      <target type="serial" port="0"/>',
    '    </console>',
  ];
}

// The graphical console: VNC on a socket under libvirt's own state directory (QEMU binds it, and its path
// changes every start: read it from the live XML), never a TCP port. It has no auth: keep it local.
const GRAPHICS_XML = ['    <graphics type="vnc">', '      <listen type="socket"/>', '    </graphics>', '    <video>', '      <model type="vga"/>', '    </video>'];

/**
 * A domain defined before the consoles existed (its serial port a plain `file`, no VNC, no video) made into
 * one with them, from its inactive XML (`virsh dumpxml --inactive`): the serial and console elements replaced,
 * graphics and a VGA video device added when missing. Null when there is nothing to change. The change takes
 * effect at the domain's next start (the spoke redefines it just before starting it).
 */
export function withConsoles(xml: string, spec: { consoleSocket: string; consoleLog: string }): string | null {
  const hasSocket = /<serial\b[^>]*\btype=['"]unix['"]/.test(xml);
  const hasGraphics = /<graphics\b[^>]*\btype=['"]vnc['"]/.test(xml);
  const hasVideo = /<video\b/.test(xml) && !/<model\b[^>]*\btype=['"]none['"]/.test(xml.slice(xml.indexOf('<video')));
  if (hasSocket && hasGraphics && hasVideo) return null;
  if (!xml.includes('</devices>')) return null;
  let out = xml;
  if (!hasSocket) {
    out = out.replace(/[ \t]*<serial\b[\s\S]*?<\/serial>\s*/g, '').replace(/[ \t]*<console\b[\s\S]*?<\/console>\s*/g, '');
  }
  const add = [...(hasSocket ? [] : serialXml(spec)), ...(hasGraphics ? [] : GRAPHICS_XML.slice(0, 3)), ...(hasVideo ? [] : GRAPHICS_XML.slice(3))];
  if (!hasVideo) out = out.replace(/[ \t]*<video\b[\s\S]*?<\/video>\s*/g, '');
  return out.replace('</devices>', `${add.join('\n')}\n  </devices>`);
}

/**
 * An inactive domain XML (`virsh dumpxml --inactive`) with the file of its disk `target` replaced. Its
 * `<backingStore>` chain goes: libvirt reads the chain from the new file's own header when it starts.
 */
export function withDiskSource(xml: string, target: string, file: string): string {
  let found = false;
  const out = xml.replace(/<disk\b[\s\S]*?<\/disk>/g, (disk) => {
    if (!new RegExp(`<target\\b[^>]*\\bdev=['"]${target}['"]`).test(disk)) return disk;
    found = true;
    return disk
      .replace(/\s*<backingStore\b[\s\S]*<\/backingStore>|\s*<backingStore\s*\/>/, '')
      .replace(/<source\b[^>]*\bfile=['"][^'"]*['"]/, `<source file="${xmlEscape(file)}"`);
  });
  if (!found) throw new Error(`the domain has no disk ${target}`);
  return out;
}

/** An inactive domain XML booting this kernel (direct boot) or, without one, its disk. */
export function withBoot(xml: string, directBoot?: { kernel: string; initrd?: string; cmdline?: string }): string {
  const e = xmlEscape;
  const lines = directBoot
    ? [`<kernel>${e(directBoot.kernel)}</kernel>`, directBoot.initrd ? `<initrd>${e(directBoot.initrd)}</initrd>` : '', directBoot.cmdline ? `<cmdline>${e(directBoot.cmdline)}</cmdline>` : ''].filter(Boolean)
    : ['<boot dev="hd"/>'];
  return xml.replace(/<os\b[^>]*>([\s\S]*?)<\/os>/, (os) => {
    const kept = os.replace(/\s*<(kernel|initrd|cmdline)\b[^>]*>[\s\S]*?<\/\1>|\s*<(kernel|initrd|cmdline)\s*\/>|\s*<boot\b[^>]*\/>/g, '');
    return kept.replace(/\s*<\/os>$/, `\n${lines.map((l) => `    ${l}`).join('\n')}\n  </os>`);
  });
}

/** An inactive domain XML with the capsul metadata's disk size and image changed (those given). */
export function withMetadata(xml: string, change: { diskGb?: number; image?: string }): string {
  let out = xml;
  for (const [key, value] of Object.entries(change)) {
    if (value === undefined) continue;
    out = out.replace(new RegExp(`(<(\\w+:)?${key}>)[^<]*(</(\\w+:)?${key}>)`), (_, open: string, _p, close: string) => `${open}${xmlEscape(value)}${close}`);
  }
  return out;
}
