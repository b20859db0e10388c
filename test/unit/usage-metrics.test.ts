// The spoke's usage series on /metrics: set from the newest sample at each scrape, so a capsul no longer
// running drops out, and nothing is shown before the first sample (but the host's CPU, at 0).
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { UsagePoint } from '~/contract/usage';
import { registry } from '~/lib/metrics';
import { collectUsage } from '~/spoke/metrics';
import type { CapsulCounters, UsageCounters } from '~/spoke/usage/counters';

const capsul = (id: string): CapsulCounters => ({ id, vcpus: 1, cpuNs: 2.5e9, memoryBytes: 1000, netInBytes: 10, netOutBytes: 20, diskReadBytes: 30, diskWriteBytes: 40 });
const counters = (capsuls: CapsulCounters[]): UsageCounters => ({
  at: new Date(), monotonicMs: 0, simulated: false, capsuls,
  host: { cpuTotalMs: 0, cpuBusyMs: 0, memoryUsedBytes: 5, memoryTotalBytes: 50, diskUsedBytes: 7, diskTotalBytes: 70 },
});
const point = { host: { cpuPercent: 12.5 } } as UsagePoint;

describe('usage metrics', () => {
  test('per capsul and the host, from the newest sample; a capsul gone vanishes', async () => {
    let latest: { counters: UsageCounters; point: UsagePoint | null } | undefined;
    collectUsage(() => latest);
    // (A metric without labels is always shown: the host's CPU reads 0 until the first point.)
    assert.doesNotMatch(await registry.metrics(), /^capsul_spoke_(capsul_\w+|host_memory_bytes|host_disk_bytes)\{/m, 'nothing before the first sample');

    latest = { counters: counters([capsul('capsul-aaaaaaaaaa'), capsul('capsul-bbbbbbbbbb')]), point };
    const text = await registry.metrics();
    for (const line of [
      'capsul_spoke_capsul_cpu_seconds_total{capsul="capsul-aaaaaaaaaa"} 2.5',
      'capsul_spoke_capsul_memory_bytes{capsul="capsul-bbbbbbbbbb"} 1000',
      'capsul_spoke_capsul_network_bytes_total{capsul="capsul-aaaaaaaaaa",direction="in"} 10',
      'capsul_spoke_capsul_network_bytes_total{capsul="capsul-aaaaaaaaaa",direction="out"} 20',
      'capsul_spoke_capsul_disk_bytes_total{capsul="capsul-aaaaaaaaaa",op="read"} 30',
      'capsul_spoke_capsul_disk_bytes_total{capsul="capsul-aaaaaaaaaa",op="write"} 40',
      'capsul_spoke_host_cpu_percent 12.5',
      'capsul_spoke_host_memory_bytes{kind="used"} 5',
      'capsul_spoke_host_memory_bytes{kind="total"} 50',
      'capsul_spoke_host_disk_bytes{kind="used"} 7',
      'capsul_spoke_host_disk_bytes{kind="total"} 70',
    ]) assert.ok(text.split('\n').includes(line), `${line}\n${text.split('\n').filter((l) => l.includes('capsul_spoke_')).join('\n')}`);
    assert.match(text, /# TYPE capsul_spoke_capsul_cpu_seconds_total counter/);

    latest = { counters: counters([capsul('capsul-aaaaaaaaaa')]), point: null };
    const after = await registry.metrics();
    assert.doesNotMatch(after, /capsul-bbbbbbbbbb/);
    assert.match(after, /capsul_spoke_capsul_memory_bytes\{capsul="capsul-aaaaaaaaaa"\} 1000/);
    assert.match(after, /^capsul_spoke_host_cpu_percent 0$/m, 'no CPU share without a point');
  });
});
