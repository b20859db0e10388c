// How the libvirt driver finds a guest's addresses: DHCP leases first, the host's ARP table when there are
// none (a bridge, a network without DHCP), IPv6 like IPv4. The real driver over a scripted virsh, answering
// with the outputs in test/fixtures/virsh.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import type { CreateInput } from '~/contract/spoke';
import { log } from '~/lib/log';
import { CommandError, type Runner } from '~/spoke/hypervisor/libvirt/commands';
import { LibvirtHypervisor, type LibvirtConfig } from '~/spoke/hypervisor/libvirt/driver';

process.env.LOG_LEVEL = 'error';
const fixture = (name: string) => readFileSync(path.join(import.meta.dirname, '../fixtures/virsh', name), 'utf8');
const NETLINK_ERROR = fixture('domifaddr-arp-netlink-error.stderr.txt');
const ID = 'capsul-addr000001';
const spec = { operationId: '00000000-0000-4000-8000-000000000001', id: ID, vcpus: 1, memoryMb: 128, diskGb: 1, image: 'x', imageFiles: { disk: 'x.qcow2' }, sshAuthorizedKeys: [] } satisfies CreateInput;

/** A virsh whose domain is running; `domifaddr` answers from the scripts per source, the last answer repeating. */
function scriptedVirsh(answers: { lease?: string[]; arp?: (string | Error)[] }) {
  const calls: string[] = [];
  const next = (list: (string | Error)[] | undefined, source: string) => {
    const answer = list?.length ? (list.length > 1 ? list.shift()! : list[0]!) : fixture('domifaddr-empty.txt');
    calls.push(source);
    if (answer instanceof Error) throw answer;
    return answer;
  };
  const virsh: Runner = async (args) => {
    if (args[0] === 'domstate') return 'running\n';
    if (args[0] === 'domifaddr') return next(args[3] === 'arp' ? answers.arp : answers.lease, args[3]!);
    throw new Error(`virsh ${args.join(' ')} was not expected here`);
  };
  return { virsh, calls };
}

function driver(virsh: Runner, cfg: Partial<LibvirtConfig> = {}) {
  return new LibvirtHypervisor(
    { uri: 'qemu:///system', nic: { network: 'default' }, domainType: 'qemu', imagesDir: '/nowhere', disksDir: '/nowhere', memoryReserveMb: 0, diskReserveGb: 0, readyTimeoutMs: 5000, ...cfg },
    virsh,
    log,
  );
}

const netlinkFailure = () => new CommandError('virsh', NETLINK_ERROR.trim(), `virsh domifaddr: ${NETLINK_ERROR.trim().replace(/^error: /gm, '').split('\n').join('; ')}`);

describe('libvirt: finding a guest\'s addresses', () => {
  test('no DHCP lease: the address the host\'s ARP table has seen', async () => {
    const { virsh, calls } = scriptedVirsh({ arp: [fixture('domifaddr-arp.txt')] });
    assert.deepEqual(await driver(virsh).get(ID), { id: ID, state: 'running', ipv4: '198.51.100.23' });
    assert.deepEqual(calls, ['lease', 'arp']);
  });

  test('a lease is enough: the ARP table is not asked', async () => {
    const { virsh, calls } = scriptedVirsh({ lease: [fixture('domifaddr-lease.txt')] });
    assert.deepEqual(await driver(virsh).get(ID), { id: ID, state: 'running', ipv4: '192.168.122.210' });
    assert.deepEqual(calls, ['lease']);
  });

  test('an ARP table libvirt cannot read (recorded here: "wrong nlmsg len") is no address, not a failure', async () => {
    const { virsh } = scriptedVirsh({ arp: [netlinkFailure()] });
    assert.deepEqual(await driver(virsh).get(ID), { id: ID, state: 'running' });
  });

  test('a dual-stack network: the create waits for the IPv6 lease that follows the IPv4 one', async () => {
    const { virsh } = scriptedVirsh({ lease: [fixture('domifaddr-empty.txt'), fixture('domifaddr-lease.txt'), fixture('domifaddr-lease.txt'), fixture('domifaddr-lease-dual-stack.txt')] });
    const vm = await driver(virsh, { families: { ipv4: true, ipv6: true } }).resume(spec, log);
    assert.deepEqual(vm, { id: ID, state: 'running', ipv4: '203.0.113.5', ipv6: '2001:db8:42::13a' });
  });

  test('an IPv6-only network: the IPv6 address is the capsul\'s address', async () => {
    const { virsh } = scriptedVirsh({ lease: [fixture('domifaddr-lease-ipv6-only.txt')] });
    const vm = await driver(virsh, { families: { ipv4: false, ipv6: true } }).resume(spec, log);
    assert.deepEqual(vm, { id: ID, state: 'running', ipv6: '2001:db8:42::13a' });
  });

  test('on a bridge: no leases asked for (libvirt keeps none there), the ARP table every poll', async () => {
    const { virsh, calls } = scriptedVirsh({ arp: [fixture('domifaddr-empty.txt'), fixture('domifaddr-arp.txt')] });
    const vm = await driver(virsh, { nic: { bridge: 'br0' } }).resume(spec, log);
    assert.deepEqual(vm, { id: ID, state: 'running', ipv4: '198.51.100.23' });
    assert.deepEqual(calls, ['arp', 'arp']);
  });

  test('no address in time on a bridge: the error says where it looked and why the ARP table said nothing', async () => {
    const { virsh } = scriptedVirsh({ arp: [netlinkFailure()] });
    await assert.rejects(driver(virsh, { nic: { bridge: 'br0' }, readyTimeoutMs: 600 }).resume(spec, log), (err: Error) => {
      assert.match(err.message, /no address seen for the guest on bridge br0 within 1 s/);
      assert.match(err.message, /ARP table could not be read \(.*wrong nlmsg len\)/);
      return true;
    });
  });
});
