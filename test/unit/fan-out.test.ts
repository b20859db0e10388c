// How a failed call to a spoke is classified, on errors produced by a real tRPC client against real sockets.
import assert from 'node:assert/strict';
import https from 'node:https';
import net from 'node:net';
import { after, before, describe, test } from 'node:test';
import { readFileSync } from 'node:fs';
import { createTRPCClient, httpLink } from '@trpc/client';
import superjson from 'superjson';
import { classifyFailure } from '~/hub/operations/fan-out';
import { newCapsulId } from '~/hub/operations/create';
import { CAPSUL_ID_PATTERN } from '~/contract/ids';
import { httpsFetch } from '~/lib/https-fetch';
import type { SpokeRouter } from '~/spoke/router';
import { makeTestTls, type TestTls } from '../support/tls';

describe('classifying spoke failures', () => {
  let tls: TestTls;
  let server: https.Server;
  let blackHole: net.Server;
  let port: number;
  let silentPort: number;
  let answer: (res: import('node:http').ServerResponse) => void = () => {};

  before(async () => {
    tls = await makeTestTls();
    server = https.createServer({ cert: readFileSync(tls.certFile), key: readFileSync(tls.keyFile) }, (_req, res) => answer(res));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    port = (server.address() as net.AddressInfo).port;
    blackHole = net.createServer(() => {}); // accepts, never answers
    await new Promise<void>((r) => blackHole.listen(0, '127.0.0.1', r));
    silentPort = (blackHole.address() as net.AddressInfo).port;
  });
  after(() => {
    server.closeAllConnections();
    server.close();
    blackHole.close();
  });

  async function classify(url: string, deadlineMs = 2000, ca = true) {
    const client = createTRPCClient<SpokeRouter>({
      links: [httpLink({ url, transformer: superjson, fetch: httpsFetch({ ca: ca ? readFileSync(tls.caFile) : undefined }) })],
    });
    const signal = AbortSignal.timeout(deadlineMs);
    try {
      await client.list.query(undefined, { signal });
    } catch (err) {
      return classifyFailure(err, signal, deadlineMs);
    }
    return assert.fail('the call should fail');
  }

  test('connection refused → no_response_from_host, with the socket error', async () => {
    const free = await new Promise<number>((r) => {
      const s = net.createServer().listen(0, '127.0.0.1', () => {
        const p = (s.address() as net.AddressInfo).port;
        s.close(() => r(p));
      });
    });
    const c = await classify(`https://127.0.0.1:${free}/trpc`);
    assert.equal(c.status, 'no_response_from_host');
    assert.match(c.reason, /ECONNREFUSED/);
  });

  test('accepts but never answers → no_response_from_host after the deadline', async () => {
    const started = Date.now();
    const c = await classify(`https://127.0.0.1:${silentPort}/trpc`, 300);
    assert.deepEqual(c, { status: 'no_response_from_host', reason: 'no answer within 300 ms' });
    assert.ok(Date.now() - started < 1500);
  });

  test('a certificate from another CA → no_response_from_host naming the certificate problem', async () => {
    const c = await classify(`https://127.0.0.1:${port}/trpc`, 2000, false);
    assert.equal(c.status, 'no_response_from_host');
    assert.match(c.reason, /certificate/i);
  });

  test('a tRPC error answer → error_response_from_host with its code', async () => {
    answer = (res) => {
      res.writeHead(500, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: { json: { message: 'virsh failed', code: -32603, data: { code: 'INTERNAL_SERVER_ERROR', httpStatus: 500 } } } }));
    };
    const c = await classify(`https://127.0.0.1:${port}/trpc`);
    assert.equal(c.status, 'error_response_from_host');
    assert.match(c.reason, /^INTERNAL_SERVER_ERROR: virsh failed/);
  });

  test('something that is not a tRPC answer → invalid_response_from_host', async () => {
    answer = (res) => {
      res.writeHead(502, { 'content-type': 'text/html' });
      res.end('<html>bad gateway</html>');
    };
    const c = await classify(`https://127.0.0.1:${port}/trpc`);
    assert.equal(c.status, 'invalid_response_from_host');
  });
});

describe('capsul ids', () => {
  test('match the protocol pattern and do not repeat', () => {
    const ids = new Set(Array.from({ length: 5000 }, newCapsulId));
    assert.equal(ids.size, 5000);
    for (const id of ids) assert.match(id, CAPSUL_ID_PATTERN);
  });
});
