// The virsh and qemu-img parsers, on outputs recorded from real runs on this kind of machine
// (test/fixtures, captured from libvirt 9.0 / QEMU 7.2 on Debian 12 with the test guest).
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import {
  diskSource,
  domainSize,
  isNoSuchDomain,
  isNotRunning,
  networkFamilies,
  parseBackingChain,
  parseBlockJob,
  parseDomifaddr,
  parseDomstats,
  parseListAll,
  parseNodeMemStats,
  parseQemuImgInfo,
  parseUsageDomstats,
  toVmState,
} from '~/spoke/hypervisor/libvirt/parse';

const fixture = (name: string) => readFileSync(path.join(import.meta.dirname, '../fixtures', name), 'utf8');

describe('virsh output', () => {
  test('list --all, in every state the test guest went through', () => {
    assert.deepEqual(parseListAll(fixture('virsh/list-all-running.txt')), [{ name: 'capsul-dbg0000001', state: 'running' }]);
    assert.deepEqual(parseListAll(fixture('virsh/list-all-stopped.txt')), [{ name: 'capsul-dbg0000001', state: 'shut off' }]);
    assert.deepEqual(parseListAll(fixture('virsh/list-all-paused.txt')), [{ name: 'capsul-dbg0000001', state: 'paused' }]);
    assert.deepEqual(parseListAll(' Id   Name   State\n--------------------\n\n'), []);
  });

  test('states map onto capsul states', () => {
    assert.equal(toVmState(fixture('virsh/domstate-running.txt')), 'running');
    assert.equal(toVmState(fixture('virsh/domstate-shut-off.txt')), 'stopped');
    assert.equal(toVmState(fixture('virsh/domstate-after-shutdown-request.txt')), 'running');
    assert.equal(toVmState('paused'), 'paused');
    assert.equal(toVmState('in shutdown'), 'shutting_down');
    assert.equal(toVmState('crashed'), 'crashed');
    assert.equal(toVmState('pmsuspended'), 'paused');
  });

  test('domifaddr --source lease gives the address without its prefix length', () => {
    assert.deepEqual(parseDomifaddr(fixture('virsh/domifaddr-lease.txt')), { ipv4: '192.168.122.210' });
    assert.deepEqual(parseDomifaddr(fixture('virsh/domifaddr-empty.txt')), {});
  });

  // Written in virsh's format (this machine's default network is IPv4 only, and its ARP source fails):
  // an interface's second address comes on a line with "-" for its name and MAC.
  test('IPv6 leases are read like IPv4 ones, on their own line or on a continuation line', () => {
    assert.deepEqual(parseDomifaddr(fixture('virsh/domifaddr-lease-dual-stack.txt')), { ipv4: '203.0.113.5', ipv6: '2001:db8:42::13a' });
    assert.deepEqual(parseDomifaddr(fixture('virsh/domifaddr-lease-ipv6-only.txt')), { ipv6: '2001:db8:42::13a' });
  });

  test('link-local addresses are skipped: nobody off the link can use them', () => {
    assert.deepEqual(parseDomifaddr(fixture('virsh/domifaddr-agent-link-local.txt')), { ipv4: '203.0.113.5', ipv6: '2001:db8:42::13a' });
  });

  test('domifaddr --source arp: the address the host has seen, with prefix 0', () => {
    assert.deepEqual(parseDomifaddr(fixture('virsh/domifaddr-arp.txt')), { ipv4: '198.51.100.23' });
  });

  test('net-dumpxml: the families a network hands out by DHCP', () => {
    assert.deepEqual(networkFamilies(fixture('virsh/net-dumpxml-default.xml')), { ipv4: true, ipv6: false }); // recorded
    assert.deepEqual(networkFamilies(fixture('virsh/net-dumpxml-routed-dual-stack.xml')), { ipv4: true, ipv6: true });
    assert.deepEqual(networkFamilies(fixture('virsh/net-dumpxml-routed-static.xml')), { ipv4: false, ipv6: false });
  });

  test('nodememstats', () => {
    assert.deepEqual(parseNodeMemStats(fixture('virsh/nodememstats.txt')), {
      totalKib: 24683656, freeKib: 24001296, buffersKib: 4380, cachedKib: 402860,
    });
    assert.throws(() => parseNodeMemStats('nonsense'), /no "total"/);
  });

  test('domstats --balloon --state, running and shut off', () => {
    assert.deepEqual([...parseDomstats(fixture('virsh/domstats-one-running.txt'))], [['capsul-dbg0000001', { maxMemoryKib: 131072, state: 1 }]]);
    assert.deepEqual([...parseDomstats(fixture('virsh/domstats-one-stopped.txt'))], [['capsul-dbg0000001', { maxMemoryKib: 131072, state: 5 }]]);
  });

  test('domstats for usage (--raw --state --cpu-total --balloon --vcpu --interface --block): a running test guest', () => {
    // The test guest has no balloon statistics (memballoon none): QEMU's resident memory, capped at its 128 MiB.
    assert.deepEqual([...parseUsageDomstats(fixture('virsh/domstats-usage-running.txt'))], [
      ['capsul-probe00001', {
        vcpus: 1, cpuNs: 9136965000, memoryBytes: 131072 * 1024,
        netInBytes: 13665, netOutBytes: 2459,
        diskReadBytes: 45568 + 14336, diskWriteBytes: 4096,
      }],
    ]);
  });

  test('domstats for usage: the guest\'s own memory view when its balloon driver reports one; stopped domains left out', () => {
    // Not recorded (no guest here reports balloon statistics): the fields as libvirt names them.
    const text = [
      "Domain: 'capsul-balloon001'", '  state.state=1', '  cpu.time=5000', '  balloon.current=1048576', '  balloon.rss=900000',
      '  balloon.available=1000000', '  balloon.unused=600000', '  vcpu.current=2', '  net.count=2', '  net.0.rx.bytes=10', '  net.0.tx.bytes=1',
      '  net.1.rx.bytes=20', '  net.1.tx.bytes=2', '  block.count=0', '',
      "Domain: 'capsul-stopped001'", '  state.state=5', '  balloon.current=131072', '',
    ].join('\n');
    assert.deepEqual([...parseUsageDomstats(text)], [
      ['capsul-balloon001', { vcpus: 2, cpuNs: 5000, memoryBytes: 400000 * 1024, netInBytes: 30, netOutBytes: 3, diskReadBytes: 0, diskWriteBytes: 0 }],
    ]);
    assert.deepEqual([...parseUsageDomstats(fixture('virsh/domstats-one-stopped.txt'))], []);
  });

  test('errors: a missing domain, a domain that is not running', () => {
    assert.ok(isNoSuchDomain(fixture('virsh/domstate-missing.stderr.txt')));
    assert.ok(isNoSuchDomain(fixture('virsh/domstate-undefined.stderr.txt')));
    assert.ok(isNoSuchDomain(fixture('virsh/shutdown-missing.stderr.txt')));
    assert.ok(!isNoSuchDomain(fixture('virsh/domifaddr-not-running.stderr.txt')));
    assert.ok(isNotRunning(fixture('virsh/domifaddr-not-running.stderr.txt')));
    assert.ok(!isNotRunning(fixture('virsh/start-already-running.stderr.txt')));
  });
});

describe('qemu-img info', () => {
  test('an overlay on the test guest base, and the base itself', () => {
    assert.deepEqual(parseQemuImgInfo(fixture('qemu-img-info-overlay.json')), {
      format: 'qcow2', virtualSize: 1073741824, actualSize: 331776, backingFile: '/var/lib/capsul-dev/images/capsul-test-guest.qcow2',
    });
    const base = parseQemuImgInfo(fixture('qemu-img-info-base.json'));
    assert.equal(base.format, 'qcow2');
    assert.equal(base.virtualSize, 64 * 1024 * 1024);
    assert.equal(base.backingFile, undefined);
  });
});

describe('the disk chain (snapshots)', () => {
  const dir = '/var/tmp/capsul-exp';
  test('qemu-img info --backing-chain: the layers oldest first, the shared base at the bottom', () => {
    const chain = parseBackingChain(fixture('qemu-img-info-backing-chain.json'));
    assert.deepEqual(chain.map((l) => l.file), [
      '/var/tmp/capsul-test-images/capsul-test-guest.qcow2',
      `${dir}/capsul-fixture001.qcow2`,
      `${dir}/capsul-fixture001.snap-fixture001.qcow2`,
    ]);
    assert.deepEqual(chain.map((l) => l.backingFile), [undefined, '/var/tmp/capsul-test-images/capsul-test-guest.qcow2', `${dir}/capsul-fixture001.qcow2`]);
    assert.deepEqual(chain.map((l) => l.virtualSize), [64 * 1024 ** 2, 1024 ** 3, 1024 ** 3]);
    assert.ok(chain.every((l) => l.actualSize > 0));
  });

  test('dumpxml: the file a disk writes on, live (with its backing chain) and persistent, after a snapshot', () => {
    for (const xml of [fixture('virsh/dumpxml-running-after-snapshot.xml'), fixture('virsh/dumpxml-inactive-after-snapshot.xml')]) {
      assert.equal(diskSource(xml, 'vda'), `${dir}/capsul-fixture001.snap-fixture001.qcow2`);
      assert.equal(diskSource(xml, 'vdb'), `${dir}/capsul-fixture001-seed.iso`);
      assert.equal(diskSource(xml, 'vdc'), null);
    }
  });

  test('dumpxml: vCPUs (the current count when libvirt writes one) and memory', () => {
    assert.deepEqual(domainSize(fixture('virsh/dumpxml-inactive-after-snapshot.xml')), { vcpus: 1, memoryMb: 128 });
    assert.deepEqual(domainSize(fixture('virsh/dumpxml-inactive-resized.xml')), { vcpus: 2, memoryMb: 192 });
    // Seen after `setvcpus 2 --config --maximum` then `setvcpus 1 --config`.
    assert.deepEqual(domainSize("<memory unit='KiB'>196608</memory>\n<vcpu placement='static' current='1'>2</vcpu>"), { vcpus: 1, memoryMb: 192 });
  });

  test('blockjob --info --raw: none, a commit under way, an active commit (ready when cur = end)', () => {
    assert.equal(parseBlockJob(fixture('virsh/blockjob-raw-none.txt')), null);
    assert.deepEqual(parseBlockJob(fixture('virsh/blockjob-raw-commit.txt')), { type: 'Block Commit', cur: 5767168, end: 1073741824 });
    assert.deepEqual(parseBlockJob(fixture('virsh/blockjob-raw-active-commit.txt')), { type: 'Active Block Commit', cur: 1, end: 1 });
    assert.deepEqual(parseBlockJob(fixture('virsh/blockjob-raw-active-ready.txt')), { type: 'Active Block Commit', cur: 65536, end: 65536 });
  });
});
