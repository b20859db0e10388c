// Usage counters of a real capsul (libvirt + QEMU under TCG, the test guest), through the libvirt driver: a
// CPU burn in the guest shows as a point above 50 % of its vCPU, 1 MiB fetched from it as at least 1 MiB out,
// and the host's own numbers are sane. Waits on conditions (TCG is slow), never on how long something took.
import assert from 'node:assert/strict';
import { rm } from 'node:fs/promises';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { CreateInput } from '~/contract/spoke';
import { usagePoint as usagePointSchema } from '~/contract/usage';
import { parseEnv } from '~/env';
import { log } from '~/lib/log';
import { virshRunner } from '~/spoke/hypervisor/libvirt/commands';
import { libvirtConfig, LibvirtHypervisor } from '~/spoke/hypervisor/libvirt/driver';
import type { CapsulCounters, UsageCounters } from '~/spoke/usage/counters';
import { usagePoint } from '~/spoke/usage/rates';
import { TEST_GUEST } from '../../scripts/build-test-guest';
import { disksDir, requireLibvirt, testGuestImages } from '../support/libvirt';
import { until } from '../support/processes';

const LONG = { timeout: 600_000 };
const MiB = 1024 ** 2;
const random = (n: number) => Array.from(crypto.getRandomValues(new Uint8Array(n)), (b) => 'abcdefghijklmnopqrstuvwxyz0123456789'[b % 36]).join('');

describe('usage counters of a real capsul (libvirt)', () => {
  let driver: LibvirtHypervisor;
  let disks: string;
  const id = `capsul-use${random(7)}`;
  let ipv4: string;

  const countersOf = (sample: UsageCounters): CapsulCounters | undefined => sample.capsuls.find((c) => c.id === id);
  const fromGuest = async (file: string) => {
    const res = await fetch(`http://${ipv4}/${file}`, { signal: AbortSignal.timeout(30_000) });
    assert.equal(res.status, 200, `GET /${file} from the guest`);
    return Buffer.from(await res.arrayBuffer());
  };

  before(async () => {
    await requireLibvirt();
    const images = await testGuestImages();
    disks = await disksDir('usage');
    const env = parseEnv({ SPOKE_IMAGES_DIR: images.dir, SPOKE_DISKS_DIR: disks, LIBVIRT_DOMAIN_TYPE: 'qemu', SPOKE_READY_TIMEOUT_MS: '150000' } as unknown as NodeJS.ProcessEnv);
    driver = new LibvirtHypervisor(libvirtConfig(env), virshRunner(env.LIBVIRT_URI), log);
    const spec: CreateInput = {
      operationId: crypto.randomUUID(), id, vcpus: 1, memoryMb: 128, diskGb: 1, image: TEST_GUEST.id,
      imageFiles: { disk: TEST_GUEST.file, kernel: TEST_GUEST.kernel, initrd: TEST_GUEST.initrd, cmdline: TEST_GUEST.cmdline }, sshAuthorizedKeys: [],
    };
    const created = await driver.create(spec, log);
    ipv4 = created.ipv4!;
    await until('the guest answering HTTP', () => fromGuest('boot').catch(() => undefined), 120_000, 500);
  });

  after(async () => {
    await driver?.destroy(id, log).catch(() => {});
    if (disks) await rm(disks, { recursive: true, force: true });
  });

  test('a running capsul is in one domstats sample, with its vCPU and memory; the host is sane', LONG, async () => {
    const sample = await driver.usageCounters();
    assert.equal(sample.simulated, false);
    const mine = countersOf(sample);
    assert.ok(mine, `${id} in ${sample.capsuls.map((c) => c.id).join(', ')}`);
    assert.equal(mine.vcpus, 1);
    assert.ok(mine.cpuNs > 0);
    assert.ok(mine.memoryBytes > 0 && mine.memoryBytes <= 128 * MiB, `memory ${mine.memoryBytes}`);
    assert.ok(mine.netInBytes > 0 && mine.netOutBytes > 0, 'the DHCP lease and the HTTP answers went over its interface');
    assert.ok(mine.diskReadBytes > 0, 'it read its disks at boot');
    const { host } = sample;
    assert.ok(host.memoryTotalBytes > host.memoryUsedBytes && host.memoryUsedBytes > 0, JSON.stringify(host));
    assert.ok(host.diskTotalBytes > host.diskUsedBytes && host.diskUsedBytes > 0, JSON.stringify(host));
    assert.ok(host.cpuTotalMs > host.cpuBusyMs && host.cpuBusyMs > 0, JSON.stringify(host));
  });

  test('a CPU burn in the guest: a point from two samples shows more than 50 % of its vCPU', LONG, async (t) => {
    let previous = await driver.usageCounters();
    // A point over about 2 s (a shorter one is mostly the noise of when virsh ran).
    const cpuOfNext = async () => {
      await sleep(2000);
      const next = await driver.usageCounters();
      const point = usagePoint(previous, next);
      previous = next;
      return point?.capsuls.find((c) => c.id === id)?.cpuPercent;
    };
    // Idle first (a guest that halts costs QEMU little even under TCG), so the busy point is the burn's.
    await until('an idle point below 30 %', async () => ((await cpuOfNext()) ?? 100) < 30, 120_000, 10);

    assert.match((await fromGuest('cgi-bin/burn?20')).toString(), /burning 20 s/);
    previous = await driver.usageCounters();
    const seen: number[] = [];
    const busy = await until(
      'a point above 50 % CPU',
      async () => {
        await sleep(2000);
        const next = await driver.usageCounters();
        const point = usagePoint(previous, next);
        previous = next;
        const mine = point?.capsuls.find((c) => c.id === id);
        if (!point || !mine) return undefined;
        assert.ok(usagePointSchema.safeParse(point).success, 'within the contract');
        seen.push(Math.round(mine.cpuPercent));
        return mine.cpuPercent > 50 && point;
      },
      18_000,
      10,
    );
    t.diagnostic(`CPU of its points: ${seen.join(', ')} %; host ${Math.round(busy.host.cpuPercent)} %`);
    assert.ok(busy.host.cpuPercent > 0 && busy.host.cpuPercent <= 100);
  });

  test('1 MiB fetched from the guest: its out bytes grew by at least 1 MiB', LONG, async () => {
    const before = countersOf(await driver.usageCounters())!;
    assert.equal((await fromGuest('bulk')).length, MiB);
    const after = countersOf(await driver.usageCounters())!;
    assert.ok(after.netOutBytes - before.netOutBytes >= MiB, `out grew by ${after.netOutBytes - before.netOutBytes}`);
    assert.ok(after.netInBytes - before.netInBytes < MiB, 'what came in was only the request and the ACKs');
  });

  test('a capsul that is not running is in no sample', LONG, async () => {
    await driver.setState(id, 'forceStop', log);
    const sample = await driver.usageCounters();
    assert.equal(countersOf(sample), undefined);
  });
});
