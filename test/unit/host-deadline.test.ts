// A call's deadline measures the host, not the hub's queue: calls beyond the hub's connection pool to a host
// wait for a connection first, and their deadline starts when they get one. Real HTTPS, a real tRPC client.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import https from 'node:https';
import net from 'node:net';
import { after, before, describe, test } from 'node:test';
import { callHost } from '~/hub/operations/fan-out';
import { configureSpokeClients } from '~/hub/spoke-client';
import { listOutput } from '~/contract/spoke';
import { CONNECTIONS_PER_PEER, httpsFetch } from '~/lib/https-fetch';
import { makeTestTls, type TestTls } from '../support/tls';

const ANSWER_MS = 300;
const DEADLINE_MS = 1000;

describe('per-host deadlines', () => {
  let tls: TestTls;
  let slow: https.Server;
  let blackHole: net.Server;
  let url: string;
  let silentUrl: string;
  let open = 0;
  let mostOpen = 0;

  before(async () => {
    tls = await makeTestTls();
    // A spoke that answers every `list` correctly, each after ANSWER_MS.
    slow = https.createServer({ cert: readFileSync(tls.certFile), key: readFileSync(tls.keyFile) }, (_req, res) => {
      open++;
      mostOpen = Math.max(mostOpen, open);
      setTimeout(() => {
        open--;
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ result: { data: { json: { capsuls: [] } } } }));
      }, ANSWER_MS);
    });
    await new Promise<void>((r) => slow.listen(0, '127.0.0.1', r));
    url = `https://127.0.0.1:${(slow.address() as net.AddressInfo).port}`;
    blackHole = net.createServer(() => {}); // accepts connections, never answers
    await new Promise<void>((r) => blackHole.listen(0, '127.0.0.1', r));
    silentUrl = `https://127.0.0.1:${(blackHole.address() as net.AddressInfo).port}`;
    configureSpokeClients({ fetch: httpsFetch({ ca: readFileSync(tls.caFile) }), hubTokens: async () => ({ current: 'x'.repeat(43) }) });
  });
  after(() => {
    slow.closeAllConnections();
    slow.close();
    blackHole.close();
  });

  test(`a burst of calls to a healthy host that answers in ${ANSWER_MS} ms: none misses a ${DEADLINE_MS} ms deadline`, async () => {
    // Five rounds of the pool: the last calls wait about 4 × ANSWER_MS for a connection, more than the deadline
    // minus their own answer time, so counting the wait would fail them.
    const calls = CONNECTIONS_PER_PEER * 5;
    const started = performance.now();
    const outcomes = await Promise.all(
      Array.from({ length: calls }, () =>
        callHost({ id: 'slow', httpsUrl: url }, { procedure: 'list', deadlineMs: DEADLINE_MS }, (s, o) => s.list.query(undefined, o), listOutput),
      ),
    );
    const elapsed = performance.now() - started;
    const failed = outcomes.filter((o) => !o.ok);
    assert.deepEqual(failed, [], 'every call answered');
    assert.ok(elapsed > DEADLINE_MS, `the burst took longer than one deadline (${Math.round(elapsed)} ms), so the queue was really there`);
    assert.ok(mostOpen <= CONNECTIONS_PER_PEER, `at most ${CONNECTIONS_PER_PEER} calls on the wire at once (saw ${mostOpen})`);
  });

  test('a burst of calls to a host that never answers: the calls waiting behind the first ones do not each cost a deadline', async () => {
    const calls = CONNECTIONS_PER_PEER * 5;
    const started = performance.now();
    const outcomes = await Promise.all(
      Array.from({ length: calls }, () =>
        callHost({ id: 'silent', httpsUrl: silentUrl }, { procedure: 'list', deadlineMs: DEADLINE_MS }, (s, o) => s.list.query(undefined, o), listOutput),
      ),
    );
    const elapsed = performance.now() - started;
    assert.ok(outcomes.every((o) => !o.ok && o.status === 'no_response_from_host'), 'every call: no_response_from_host');
    // Served one pool at a time, the calls would take five deadlines; they take about one.
    assert.ok(elapsed < 3 * DEADLINE_MS, `answered in ${Math.round(elapsed)} ms, not ${calls / CONNECTIONS_PER_PEER} deadlines`);
  });
});
