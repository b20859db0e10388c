// The hub and three spokes in their own network namespaces. One spoke's link goes down: fan-outs still
// answer within the per-host deadline and name it; when the link comes back it rejoins by heartbeat.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { recordFigures } from '../support/figures';
import { createLan, type Lan } from '../support/netns';
import { allOnline, CapsulProcess, startHubProcess, startSpokeProcess, until, type Hub, type SpokeHandle } from '../support/processes';
import { makeTestTls, type TestTls } from '../support/tls';

const DEADLINE = 2000;
const SPOKES = ['n1', 'n2', 'n3'];

describe('fault: a spoke cut off the network', () => {
  let lan: Lan;
  let tls: TestTls;
  let hub: Hub;
  const spokes: SpokeHandle[] = [];

  before(async () => {
    lan = await createLan(['hub', ...SPOKES]);
    tls = await makeTestTls([...['hub', ...SPOKES].map((n) => lan.address(n)), 'localhost']);
    // The hub on its embedded database, in its own namespace; the test reaches it over the bridge.
    hub = await startHubProcess({
      tls,
      bind: lan.address('hub'),
      port: 3000,
      command: CapsulProcess.command(lan.netns('hub')),
      env: { SPOKE_CALL_TIMEOUT_MS: String(DEADLINE), HEARTBEAT_PERIOD_MS: '1000', ONLINE_WINDOW_MS: '4000' },
    });
    for (const name of SPOKES) {
      spokes.push(await startSpokeProcess({ hub, hostId: name, tls, bind: lan.address(name), port: 8443, command: CapsulProcess.command(lan.netns(name)) }));
    }
    await allOnline(hub, SPOKES);
  });
  after(async () => {
    await Promise.all(spokes.map((s) => s.proc.stop()));
    await hub?.proc.stop();
    await lan?.destroy();
  });

  test('only the namespaces\' own addresses are used', async () => {
    const hosts = await hub.admin.host.list.query();
    assert.deepEqual(hosts.map((h) => h.httpsUrl).sort(), SPOKES.map((n) => `https://${lan.address(n)}:8443`));
    assert.equal(hub.url, `https://${lan.address('hub')}:3000`);
  });

  test('cut: answers within the deadline naming it; restored: it rejoins by heartbeat', async () => {
    await lan.cut('n2');
    const cutAt = Date.now();
    const times: number[] = [];
    try {
      for (let i = 0; i < 3; i++) {
        const started = Date.now();
        const list = await hub.admin.fleet.list.mutate();
        times.push(Date.now() - started);
        assert.deepEqual(list.answered.sort(), ['n1', 'n3']);
        // Named either way: as not answering while still counted online, then as offline.
        assert.deepEqual([...list.failed.map((f) => `${f.hostId}:${f.status}`), ...list.offline.map((o) => `${o.hostId}:offline`)].map((x) => x.split(':')[0]), ['n2']);
        for (const f of list.failed) assert.equal(f.status, 'no_response_from_host');
      }
      await until('n2 offline', async () => !(await hub.admin.host.list.query()).find((h) => h.id === 'n2')!.online, 15_000, 250);
      const later = await hub.admin.fleet.capacity.mutate({ memoryMb: 512, diskGb: 10 });
      assert.deepEqual(later.offline.map((o) => o.hostId), ['n2']);
      const created = await hub.admin.capsul.create.mutate({ owner: 'net@example.com', image: 'debian-12', size: 'nano' });
      assert.notEqual(created.hostId, 'n2', 'not offered to an offline host');
    } finally {
      await lan.restore('n2');
    }
    const restoredAt = Date.now();
    await allOnline(hub, SPOKES, 20_000);
    const rejoin = Date.now() - restoredAt;
    const worst = Math.max(...times);
    assert.ok(worst < DEADLINE + 700, `fan-outs answered in ${worst} ms`);
    await recordFigures('network-cut', {
      fault: 'one of three spokes cut off (its link down, in its own network namespace) for the length of the checks',
      faultsInjected: 1,
      operations: times.length + 2,
      lost: 0,
      doubled: 0,
      worstRecoveryMs: rejoin,
      notes: `fan-outs answered in ≤ ${worst} ms with a ${DEADLINE} ms deadline, naming n2; offline after ${Math.round((restoredAt - cutAt) / 1000)} s of cut at most; back online ${rejoin} ms after the link came up`,
    });
  });
});
