// A spoke restarted mid-build finishes the build, and never destroys what it finds because libvirt was slow to
// answer: the real libvirt driver, over a virsh runner whose first `domstate` calls time out.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdir, mkdtemp, readdir, readFile, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, test } from 'node:test';
import type { CompleteInput } from '~/contract/hub';
import type { CreateInput } from '~/contract/spoke';
import { log } from '~/lib/log';
import { CommandError, type Runner } from '~/spoke/hypervisor/libvirt/commands';
import { LibvirtHypervisor } from '~/spoke/hypervisor/libvirt/driver';
import type { HubClient } from '~/spoke/hub-client';
import { Outbox } from '~/spoke/outbox';
import { Spoke } from '~/spoke/spoke';

process.env.LOG_LEVEL = 'error';
const fixture = (name: string) => readFile(path.join(import.meta.dirname, '../fixtures/virsh', name), 'utf8');

describe('a spoke restarted mid-build', () => {
  test('libvirt times out twice on the domain: the spoke asks again, destroys nothing, and reports the capsul running', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'spoke-recovery-'));
    const spec: CreateInput = {
      operationId: randomUUID(), id: 'capsul-recover001', vcpus: 1, memoryMb: 512, diskGb: 10, image: 'debian-12', imageFiles: { disk: 'd.qcow2' }, sshAuthorizedKeys: [],
    };
    // What the spoke left when it stopped mid-build: the journal of a create it won.
    await mkdir(path.join(dir, 'builds'), { recursive: true });
    await writeFile(path.join(dir, 'builds', `${spec.operationId}.json`), JSON.stringify(spec));

    const calls: string[] = [];
    let timeouts = 2;
    const virsh: Runner = async (args) => {
      calls.push(args[0]!);
      if (args[0] === 'domstate') {
        if (timeouts-- > 0) throw new CommandError('virsh', '', 'virsh domstate: timed out after 60000 ms');
        return 'running\n';
      }
      if (args[0] === 'domifaddr') return fixture('domifaddr-lease.txt');
      throw new Error(`virsh ${args[0]} was not expected here`);
    };
    const hypervisor = new LibvirtHypervisor(
      { uri: 'qemu:///system', nic: { network: 'default' }, domainType: 'qemu', imagesDir: dir, disksDir: dir, memoryReserveMb: 0, diskReserveGb: 0, readyTimeoutMs: 5000 },
      virsh,
      log,
    );
    const hub = { spoke: { claimOperation: { mutate: async () => spec } } } as unknown as HubClient; // the hub: it is this host's
    const delivered: CompleteInput[] = [];
    const outbox = new Outbox(path.join(dir, 'outbox'), async (c) => (delivered.push(c), 'acknowledged'), log);
    await outbox.start();
    const spoke = new Spoke(hypervisor, hub, outbox, log, path.join(dir, 'builds'));

    assert.equal(await spoke.recoverInterruptedBuilds(), 1, 'the build is resumed');
    await spoke.settle();
    for (let i = 0; i < 200 && delivered.length === 0; i++) await new Promise((r) => setTimeout(r, 10));
    outbox.stop();

    assert.deepEqual(calls.filter((c) => ['destroy', 'undefine', 'define', 'start'].includes(c)), [], 'nothing destroyed, nothing rebuilt');
    assert.equal(calls.filter((c) => c === 'domstate').length, 3, 'asked again after each timeout');
    assert.equal(delivered.length, 1);
    assert.equal(delivered[0]!.result.ok, true, JSON.stringify(delivered[0]!.result));
    assert.deepEqual(await readdir(path.join(dir, 'builds')), [], 'the journal is done with');
  });
});
