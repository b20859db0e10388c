// The spoke's outbox of completions: written to disk before delivery, retried until acknowledged,
// resumed after a restart, set aside when the hub refuses it for good.
import assert from 'node:assert/strict';
import { mkdtemp, readdir, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, test } from 'node:test';
import type { CompleteInput } from '~/contract/hub';
import { log, type Logger } from '~/lib/log';
import { registry } from '~/lib/metrics';
import { backoffMs, Outbox, type Delivery } from '~/spoke/outbox';

const quiet = log;
process.env.LOG_LEVEL = 'error';
const completion = (n: number): CompleteInput => ({
  operationId: `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`,
  result: { ok: true, state: 'running', ipv4: '10.0.0.2' },
});

async function until(check: () => boolean | Promise<boolean>, ms = 10_000) {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('outbox', () => {
  test('backoff doubles up to the cap, with jitter in the upper half', () => {
    for (let attempt = 0; attempt < 12; attempt++) {
      const ceiling = Math.min(30_000, 500 * 2 ** attempt);
      for (let i = 0; i < 50; i++) {
        const d = backoffMs(attempt);
        assert.ok(d >= ceiling / 2 && d <= ceiling, `attempt ${attempt}: ${d}`);
      }
    }
  });

  test('retries until the hub acknowledges, then removes the file', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'outbox-'));
    let calls = 0;
    const delivered: CompleteInput[] = [];
    const outbox = new Outbox(dir, async (c) => {
      calls++;
      if (calls < 3) throw new Error('hub down');
      delivered.push(c);
      return 'acknowledged';
    }, quiet);
    await outbox.start();
    await outbox.add(completion(1));
    await until(() => delivered.length === 1);
    assert.equal(calls, 3);
    assert.deepEqual(delivered[0], completion(1));
    await until(async () => (await readdir(dir)).filter((f) => f.endsWith('.json')).length === 0);
    outbox.stop();
  });

  test('what one run could not deliver, the next run delivers', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'outbox-'));
    const first = new Outbox(dir, async () => {
      throw new Error('hub down');
    }, quiet);
    await first.start();
    await first.add(completion(2));
    await first.add(completion(3));
    first.stop(); // the spoke stops (or dies) with both undelivered
    assert.deepEqual((await readdir(dir)).filter((f) => f.endsWith('.json')).sort(), [`${completion(2).operationId}.json`, `${completion(3).operationId}.json`]);

    const delivered: string[] = [];
    const second = new Outbox(dir, async (c) => {
      delivered.push(c.operationId);
      return 'acknowledged';
    }, quiet);
    assert.equal(await second.start(), 2);
    await until(() => delivered.length === 2);
    assert.deepEqual(delivered.sort(), [completion(2).operationId, completion(3).operationId]);
    second.stop();
  });

  test('a completion the hub refuses for good is kept aside, not retried', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'outbox-'));
    let calls = 0;
    const outbox = new Outbox(dir, async (): Promise<Delivery> => {
      calls++;
      return 'refused';
    }, quiet);
    await outbox.start();
    await outbox.add(completion(4));
    await until(async () => (await readdir(path.join(dir, 'refused'))).length === 1);
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(calls, 1);
    assert.equal(outbox.pending(), 0);
    outbox.stop();
  });

  test('a completion file that cannot be parsed is set aside in unreadable/ and reported, not retried', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'outbox-'));
    const names = ['not-json', 'not-a-completion'].map((n, i) => `${completion(10 + i).operationId}.json`);
    await writeFile(path.join(dir, names[0]!), '{"operationId": "00000000-0000-4000-8000-00000000001');
    await writeFile(path.join(dir, names[1]!), JSON.stringify({ operationId: 'x', result: 'done' }));
    const errors: { msg: string; fields?: Record<string, unknown> }[] = [];
    const recording: Logger = { ...quiet, error: (msg, fields) => errors.push({ msg, fields }), child: () => recording };
    let calls = 0;
    const outbox = new Outbox(dir, async () => {
      calls++;
      return 'acknowledged';
    }, recording);
    assert.equal(await outbox.start(), 2);
    await until(async () => (await readdir(path.join(dir, 'unreadable')).catch(() => [])).length === 2);
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(calls, 0, 'nothing was delivered');
    assert.equal(outbox.pending(), 0, 'nothing is waiting for a retry');
    assert.deepEqual((await readdir(dir)).filter((f) => f.endsWith('.json')), []);
    for (const name of names) {
      assert.ok(errors.some((e) => String(e.fields?.file).endsWith(name)), `an error line names ${name}`);
    }
    const counted = (await registry.getSingleMetric('capsul_spoke_outbox_unreadable_total')?.get())?.values[0]?.value;
    assert.equal(counted, 2);
    outbox.stop();
  });
});
