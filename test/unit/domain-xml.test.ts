import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { metaData, userData } from '~/spoke/hypervisor/libvirt/cloud-init';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { domainXml, withBoot, withDiskSource, withMetadata, xmlEscape } from '~/spoke/hypervisor/libvirt/domain-xml';
import { diskSource } from '~/spoke/hypervisor/libvirt/parse';

const spec = {
  name: 'capsul-abcdefghij',
  type: 'qemu' as const,
  memoryMb: 128,
  vcpus: 2,
  disk: '/d/capsul-abcdefghij.qcow2',
  seed: '/d/capsul-abcdefghij-seed.iso',
  nic: { network: 'default' },
  consoleSocket: '/d/capsul-abcdefghij.console.sock',
  consoleLog: '/d/capsul-abcdefghij.console.log',
  metadata: { diskGb: 10, image: 'debian-12', operationId: 'op' },
};

describe('domain XML', () => {
  test('a disk-booted capsul: virtio disk and NIC on the network, seed read-only, serial console on a socket with a log, VNC on a socket', () => {
    const xml = domainXml(spec);
    assert.match(xml, /^<domain type="qemu">/);
    assert.match(xml, /<name>capsul-abcdefghij<\/name>/);
    assert.match(xml, /<memory unit="MiB">128<\/memory>/);
    assert.match(xml, /<vcpu>2<\/vcpu>/);
    assert.match(xml, /<boot dev="hd"\/>/);
    assert.match(xml, /<source file="\/d\/capsul-abcdefghij.qcow2"\/>\s*<target dev="vda" bus="virtio"\/>/);
    assert.match(xml, /<source file="\/d\/capsul-abcdefghij-seed.iso"\/>\s*<target dev="vdb" bus="virtio"\/>\s*<readonly\/>/);
    assert.match(xml, /<interface type="network">\s*<source network="default"\/>\s*<model type="virtio"\/>/);
    assert.match(
      xml,
      /<serial type="unix">\s*<source mode="bind" path="\/d\/capsul-abcdefghij.console.sock"\/>\s*<log file="\/d\/capsul-abcdefghij.console.log" append="on"\/>\s*<target port="0"\/>/,
    );
    assert.match(xml, /<console type="unix">\s*<source mode="bind" path="\/d\/capsul-abcdefghij.console.sock"\/>\s*<target type="serial" port="0"\/>/);
    // VNC only on a Unix socket libvirt picks, never a TCP port; a VGA device so there is a screen.
    assert.match(xml, /<graphics type="vnc">\s*<listen type="socket"\/>\s*<\/graphics>/);
    assert.doesNotMatch(xml, /<graphics[^>]*port=|autoport|listen type="address"|<serial type="file">|<serial type="pty">/);
    assert.match(xml, /<video>\s*<model type="vga"\/>\s*<\/video>/);
    assert.match(xml, /<capsul:diskGb>10<\/capsul:diskGb>/);
    assert.doesNotMatch(xml, /<kernel>|host-passthrough/);
  });

  test('a bridged capsul: the NIC on a bridge of the host instead of a libvirt network', () => {
    const xml = domainXml({ ...spec, nic: { bridge: 'br0' } });
    assert.match(xml, /<interface type="bridge">\s*<source bridge="br0"\/>\s*<model type="virtio"\/>/);
    assert.doesNotMatch(xml, /<interface type="network">|source network=/);
  });

  test('direct kernel boot, kvm, and escaping', () => {
    const xml = domainXml({ ...spec, type: 'kvm', directBoot: { kernel: '/i/vmlinuz', initrd: '/i/initrd.gz', cmdline: 'console=ttyS0 a<b & "c"' } });
    assert.match(xml, /<domain type="kvm">/);
    assert.match(xml, /<kernel>\/i\/vmlinuz<\/kernel>\s*<initrd>\/i\/initrd.gz<\/initrd>/);
    assert.match(xml, /<cmdline>console=ttyS0 a&lt;b &amp; &quot;c&quot;<\/cmdline>/);
    assert.match(xml, /<cpu mode="host-passthrough"\/>/);
    assert.doesNotMatch(xml, /<boot dev/);
    assert.equal(xmlEscape(`<'&">`), '&lt;&apos;&amp;&quot;&gt;');
  });
});

describe('cloud-init NoCloud seed', () => {
  test('meta-data names the instance and the host; user-data carries the keys as YAML strings', () => {
    assert.equal(metaData('capsul-abcdefghij'), 'instance-id: capsul-abcdefghij\nlocal-hostname: capsul-abcdefghij\n');
    assert.equal(
      userData('capsul-abcdefghij', ['ssh-ed25519 AAAA a@b', 'ssh-rsa BBBB "quoted" \\ c']),
      '#cloud-config\nhostname: capsul-abcdefghij\nssh_authorized_keys:\n  - "ssh-ed25519 AAAA a@b"\n  - "ssh-rsa BBBB \\"quoted\\" \\\\ c"\n',
    );
  });
});

describe('a domain defined before the consoles existed', () => {
  // What `virsh dumpxml --inactive` gives for a domain the earlier XML defined (serial to a plain file).
  const old = `<domain type='qemu'>
  <name>capsul-abcdefghij</name>
  <devices>
    <disk type='file' device='disk'><source file='/d/capsul-abcdefghij.qcow2'/><target dev='vda' bus='virtio'/></disk>
    <serial type='file'>
      <source path='/d/capsul-abcdefghij.console.log'/>
      <target type='isa-serial' port='0'>
        <model name='isa-serial'/>
      </target>
    </serial>
    <console type='file'>
      <source path='/d/capsul-abcdefghij.console.log'/>
      <target type='serial' port='0'/>
    </console>
    <input type='mouse' bus='ps2'/>
    <memballoon model='none'/>
  </devices>
</domain>
`;

  test('gets the serial socket with its log, VNC on a socket and a VGA device; the rest stays; a current one is left alone', async () => {
    const { withConsoles } = await import('~/spoke/hypervisor/libvirt/domain-xml');
    const upgraded = withConsoles(old, spec)!;
    assert.ok(upgraded);
    assert.doesNotMatch(upgraded, /type='file'>\s*<source path/);
    assert.match(upgraded, /<serial type="unix">\s*<source mode="bind" path="\/d\/capsul-abcdefghij.console.sock"\/>\s*<log file="\/d\/capsul-abcdefghij.console.log" append="on"\/>/);
    assert.match(upgraded, /<console type="unix">/);
    assert.match(upgraded, /<graphics type="vnc">\s*<listen type="socket"\/>\s*<\/graphics>/);
    assert.match(upgraded, /<video>\s*<model type="vga"\/>/);
    assert.match(upgraded, /<disk type='file' device='disk'>/);
    assert.match(upgraded, /<memballoon model='none'\/>/);
    assert.equal((upgraded.match(/<serial/g) ?? []).length, 1);
    assert.equal((upgraded.match(/<console/g) ?? []).length, 1);
    assert.equal(withConsoles(upgraded, spec), null, 'once is enough');
    assert.equal(withConsoles(domainXml(spec), spec), null, 'a domain this branch defined has them already');
  });
});

describe('a domain XML edited for a change', () => {
  const recorded = readFileSync(path.join(import.meta.dirname, '../fixtures/virsh/dumpxml-inactive-after-snapshot.xml'), 'utf8');

  test('the disk source replaced, its recorded backing chain dropped (libvirt reads it from the file), the seed untouched', () => {
    const xml = withDiskSource(recorded, 'vda', '/d/capsul-fixture001.qcow2');
    assert.equal(diskSource(xml, 'vda'), '/d/capsul-fixture001.qcow2');
    assert.equal(diskSource(xml, 'vdb'), '/var/tmp/capsul-exp/capsul-fixture001-seed.iso');
    assert.doesNotMatch(xml, /backingStore/);
    const vda = "<source file='/var/tmp/capsul-exp/capsul-fixture001.snap-fixture001.qcow2'/>\n      <backingStore type='file'>\n        <format type='qcow2'/>\n        <source file='/var/tmp/capsul-exp/capsul-fixture001.qcow2'/>\n      </backingStore>";
    assert.equal(xml, recorded.replace(vda, '<source file="/d/capsul-fixture001.qcow2"/>'), 'nothing else changes');
    assert.throws(() => withDiskSource(recorded, 'vdz', '/d/x'), /no disk vdz/);
  });

  test('direct boot replaced by another kernel, or by booting the disk; metadata image and disk size', () => {
    const direct = withBoot(recorded, { kernel: '/i/k2', initrd: '/i/r2', cmdline: 'console=ttyS0 a&b' });
    assert.match(direct, /<os>\s*<type arch='x86_64' machine='pc-i440fx-7.2'>hvm<\/type>\s*<kernel>\/i\/k2<\/kernel>\s*<initrd>\/i\/r2<\/initrd>\s*<cmdline>console=ttyS0 a&amp;b<\/cmdline>\s*<\/os>/);
    const disk = withBoot(direct, undefined);
    assert.match(disk, /<os>\n    <type arch='x86_64' machine='pc-i440fx-7.2'>hvm<\/type>\n    <boot dev="hd"\/>\n  <\/os>/);
    const meta = withMetadata(recorded, { diskGb: 20, image: 'debian-12' });
    assert.match(meta, /<capsul:diskGb>20<\/capsul:diskGb>\s*<capsul:image>debian-12<\/capsul:image>/);
    assert.equal(withMetadata(recorded, {}), recorded);
  });
});
