// Usage points from two samples of cumulative counters (src/spoke/usage/rates.ts), and the fake driver's
// simulated counters fed through them (they must make points the hub's contract accepts).
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, test } from 'node:test';
import { usagePoint as usagePointSchema } from '~/contract/usage';
import { log } from '~/lib/log';
import { FakeHypervisor } from '~/spoke/hypervisor/fake';
import type { CapsulCounters, UsageCounters } from '~/spoke/usage/counters';
import { usagePoint } from '~/spoke/usage/rates';

process.env.LOG_LEVEL = 'error';

const GiB = 1024 ** 3;
const capsul = (id: string, c: Partial<CapsulCounters> = {}): CapsulCounters => ({
  id, vcpus: 1, cpuNs: 0, memoryBytes: 64 * 1024 ** 2, netInBytes: 0, netOutBytes: 0, diskReadBytes: 0, diskWriteBytes: 0, ...c,
});
const sample = (seconds: number, capsuls: CapsulCounters[], cpu = { totalMs: 0, busyMs: 0 }): UsageCounters => ({
  at: new Date(Date.UTC(2025, 0, 1) + seconds * 1000),
  monotonicMs: 5000 + seconds * 1000,
  simulated: false,
  host: { cpuTotalMs: cpu.totalMs, cpuBusyMs: cpu.busyMs, memoryUsedBytes: 3 * GiB, memoryTotalBytes: 16 * GiB, diskUsedBytes: 40 * GiB, diskTotalBytes: 100 * GiB },
  capsuls,
});

describe('usage rates', () => {
  test('no earlier sample (a spoke that just started): no point', () => {
    assert.equal(usagePoint(undefined, sample(0, [capsul('capsul-aaaaaaaaaa')])), null);
  });

  test('rates over the interval, stamped at its end; CPU as a share of the vCPUs; memory as it is now', () => {
    const before = sample(0, [capsul('capsul-aaaaaaaaaa', { vcpus: 2, cpuNs: 1e9, netInBytes: 1000, netOutBytes: 500, diskReadBytes: 0, diskWriteBytes: 4096 })], { totalMs: 100_000, busyMs: 10_000 });
    const after = sample(10, [capsul('capsul-aaaaaaaaaa', { vcpus: 2, cpuNs: 1e9 + 5e9, memoryBytes: 100, netInBytes: 11_000, netOutBytes: 2500, diskReadBytes: 1e6, diskWriteBytes: 4096 })], { totalMs: 180_000, busyMs: 30_000 });
    const point = usagePoint(before, after)!;
    assert.deepEqual(point, {
      at: after.at,
      seconds: 10,
      host: { cpuPercent: 25, memoryUsedBytes: 3 * GiB, memoryTotalBytes: 16 * GiB, diskUsedBytes: 40 * GiB, diskTotalBytes: 100 * GiB },
      // 5 s of CPU in 10 s on 2 vCPUs: 25 %.
      capsuls: [{ id: 'capsul-aaaaaaaaaa', cpuPercent: 25, memoryBytes: 100, netInBps: 1000, netOutBps: 200, diskReadBps: 1e5, diskWriteBps: 0 }],
    });
    assert.ok(usagePointSchema.safeParse(point).success, 'the contract accepts it');
  });

  test('only capsuls in both samples; one whose counters went backwards (its guest restarted) has no point', () => {
    const before = sample(0, [capsul('capsul-aaaaaaaaaa', { cpuNs: 5e9 }), capsul('capsul-bbbbbbbbbb', { cpuNs: 1e9, netOutBytes: 1e6 }), capsul('capsul-gone000000')]);
    const after = sample(15, [capsul('capsul-aaaaaaaaaa', { cpuNs: 6e9 }), capsul('capsul-bbbbbbbbbb', { cpuNs: 2e9, netOutBytes: 10 }), capsul('capsul-new0000000')]);
    const point = usagePoint(before, after)!;
    assert.deepEqual(point.capsuls.map((c) => c.id), ['capsul-aaaaaaaaaa']);
    assert.ok(Math.abs(point.capsuls[0]!.cpuPercent - 100 / 15) < 1e-9);
  });

  test('CPU is clamped to 0..100 (QEMU\'s own threads can use more than the vCPUs)', () => {
    const point = usagePoint(sample(0, [capsul('capsul-aaaaaaaaaa')]), sample(1, [capsul('capsul-aaaaaaaaaa', { cpuNs: 1.5e9 })]))!;
    assert.equal(point.capsuls[0]!.cpuPercent, 100);
  });

  test('no interval (the same moment, the clock going back) or one longer than the contract allows: no point', () => {
    const a = sample(10, []);
    assert.equal(usagePoint(a, sample(10, [])), null);
    assert.equal(usagePoint(a, sample(5, [])), null);
    assert.equal(usagePoint(a, sample(10 + 3601, [])), null);
  });

  test('the host\'s CPU counters standing still: 0 %, not NaN', () => {
    const point = usagePoint(sample(0, [], { totalMs: 100, busyMs: 50 }), sample(15, [], { totalMs: 100, busyMs: 50 }))!;
    assert.equal(point.host.cpuPercent, 0);
  });
});

describe('the fake driver\'s simulated counters', () => {
  test('marked simulated; its running capsuls\' points are within the contract and wander within 5..60 % CPU', async () => {
    const stateDir = await mkdtemp(path.join(os.tmpdir(), 'capsul-fake-usage-'));
    try {
      const fake = new FakeHypervisor({ stateDir, memoryMb: 8192, diskGb: 100, createMs: 0, images: '*' });
      const spec = { operationId: crypto.randomUUID(), vcpus: 2, memoryMb: 1024, diskGb: 10, image: 'x', imageFiles: { disk: 'x.qcow2' }, sshAuthorizedKeys: [] };
      await fake.create({ ...spec, id: 'capsul-fakeuse001' }, log);
      await fake.create({ ...spec, id: 'capsul-fakeuse002' }, log);
      await fake.setState('capsul-fakeuse002', 'stop');
      let previous = await fake.usageCounters();
      assert.equal(previous.simulated, true);
      assert.deepEqual(previous.capsuls.map((c) => c.id), ['capsul-fakeuse001'], 'only running capsuls');
      for (let i = 0; i < 5; i++) {
        await new Promise((r) => setTimeout(r, 20));
        const next = await fake.usageCounters();
        const point = usagePoint(previous, next)!;
        previous = next;
        assert.ok(usagePointSchema.safeParse(point).success);
        const [c] = point.capsuls;
        assert.ok(c && c.cpuPercent >= 5 - 1e-6 && c.cpuPercent <= 60 + 1e-6, `cpu ${c?.cpuPercent}`);
        assert.ok(c.memoryBytes > 0 && c.memoryBytes < 1024 ** 3);
        assert.ok(c.netInBps > 0 && c.netOutBps > 0);
        assert.ok(point.host.memoryTotalBytes > point.host.memoryUsedBytes && point.host.memoryUsedBytes > 0);
        assert.ok(point.host.diskTotalBytes > point.host.diskUsedBytes && point.host.diskUsedBytes > 0);
      }
    } finally {
      await rm(stateDir, { recursive: true, force: true });
    }
  });
});
