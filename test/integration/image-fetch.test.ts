// `capsul image fetch`: a cloud image by URL and checksum into the images folder and the catalog, run as a
// process against a real hub. The image is a small qcow2 made here with qemu-img and served over HTTPS by
// the test (the machine cannot reach cloud.debian.org), once with the right checksum and once with a wrong one.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdtemp, readdir, readFile, stat } from 'node:fs/promises';
import https from 'node:https';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { execa } from 'execa';
import { cliEnv, runCli } from '../support/cli';
import { createTestDatabase } from '../support/postgres';
import { freePort, startHubProcess, type Hub } from '../support/processes';
import { makeTestTls, type TestTls } from '../support/tls';

const sha = (algorithm: string, data: Buffer) => createHash(algorithm).update(data).digest('hex');

describe('image fetch', () => {
  let tls: TestTls;
  let database: Awaited<ReturnType<typeof createTestDatabase>>;
  let hub: Hub;
  let server: https.Server;
  let base: string;
  let images: string;
  let disk: Buffer;
  let overlay: Buffer;
  let env: Record<string, string>;

  before(async () => {
    tls = await makeTestTls();
    database = await createTestDatabase();
    hub = await startHubProcess({ databaseUrl: database.url, tls });
    const work = await mkdtemp(path.join(os.tmpdir(), 'capsul-fetch-'));
    await execa('qemu-img', ['create', '-q', '-f', 'qcow2', path.join(work, 'tiny.qcow2'), '64M']);
    await execa('qemu-img', ['create', '-q', '-f', 'qcow2', '-b', path.join(work, 'tiny.qcow2'), '-F', 'qcow2', path.join(work, 'overlay.qcow2')]);
    disk = await readFile(path.join(work, 'tiny.qcow2'));
    overlay = await readFile(path.join(work, 'overlay.qcow2'));
    images = path.join(work, 'images');
    const port = await freePort();
    server = https.createServer({ cert: readFileSync(tls.certFile), key: readFileSync(tls.keyFile) }, (req, res) => {
      const body = req.url === '/cloud/tiny-genericcloud-amd64.qcow2' ? disk : req.url === '/cloud/overlay.qcow2' ? overlay : undefined;
      if (!body) return void res.writeHead(404).end();
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': body.length }).end(body);
    });
    await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
    base = `https://localhost:${port}/cloud`;
    // The download trusts the test CA the way a real one trusts the system's (NODE_EXTRA_CA_CERTS adds to it).
    env = cliEnv(hub, tls, { NODE_EXTRA_CA_CERTS: tls.caFile, SPOKE_IMAGES_DIR: images });
  });
  after(async () => {
    await new Promise((resolve) => server?.close(resolve));
    await hub?.proc.stop();
    await database?.drop();
  });

  test('the right checksum: downloaded with a progress line, checked with qemu-img, in the catalog under its name', async () => {
    const url = `${base}/tiny-genericcloud-amd64.qcow2`;
    const r = await runCli(['image', 'fetch', 'debian-12', '--url', url, '--sha512', sha('sha512', disk), '--login-user', 'debian'], env);
    assert.equal(r.exitCode, 0, r.stderr);
    assert.match(r.stderr, /downloading tiny-genericcloud-amd64\.qcow2: .* of .* MiB \(100%\), done/);
    assert.match(r.stdout, /debian-12 is in the catalog: Debian 12 \(bookworm\), tiny-genericcloud-amd64\.qcow2 \(qcow2, 0\.1 GiB virtual\), login user debian/);
    assert.deepEqual(await readFile(path.join(images, 'tiny-genericcloud-amd64.qcow2')), disk);
    assert.equal((await stat(path.join(images, 'tiny-genericcloud-amd64.qcow2'))).mode & 0o777, 0o644, 'QEMU can read it');
    const row = (await hub.admin.image.list.query()).find((i) => i.id === 'debian-12');
    assert.equal(row?.file, 'tiny-genericcloud-amd64.qcow2');
    assert.equal(row?.name, 'Debian 12 (bookworm)', 'the catalog\'s name is kept');
    assert.equal(row?.sortOrder, 10, 'and its place');

    const again = await runCli(['image', 'fetch', 'debian-12', '--url', url, '--sha512', sha('sha512', disk), '--json'], env);
    assert.equal(again.exitCode, 0, again.stderr);
    const answer = JSON.parse(again.stdout);
    assert.equal(answer.downloaded, false, 'a file already there with that checksum is not fetched again');
    assert.equal(answer.format, 'qcow2');
  });

  test('a new image with --sha256 and --name', async () => {
    const r = await runCli(['image', 'fetch', 'tiny', '--url', `${base}/tiny-genericcloud-amd64.qcow2`, '--file', 'tiny.qcow2', '--sha256', sha('sha256', disk), '--name', 'Tiny'], env);
    assert.equal(r.exitCode, 0, r.stderr);
    const row = (await hub.admin.image.list.query()).find((i) => i.id === 'tiny');
    assert.deepEqual([row?.name, row?.file, row?.enabled], ['Tiny', 'tiny.qcow2', true]);
  });

  test('a wrong checksum: refused, the download deleted, the catalog unchanged', async () => {
    const before = await hub.admin.image.list.query();
    const wrong = sha('sha512', Buffer.from('something else'));
    const r = await runCli(['image', 'fetch', 'other', '--url', `${base}/tiny-genericcloud-amd64.qcow2`, '--file', 'other.qcow2', '--sha512', wrong], env);
    assert.equal(r.exitCode, 1);
    assert.match(r.stderr, new RegExp(`checksum mismatch: the SHA-512 of what .* sent is ${sha('sha512', disk)}, not ${wrong}; the download was deleted`));
    assert.deepEqual((await readdir(images)).filter((f) => f.startsWith('other')), [], 'no file, no .part');
    assert.deepEqual(await hub.admin.image.list.query(), before);

    const json = await runCli(['image', 'fetch', 'other', '--url', `${base}/tiny-genericcloud-amd64.qcow2`, '--file', 'other.qcow2', '--sha512', wrong, '--json'], env);
    assert.equal(json.exitCode, 1);
    // Every line on stderr is JSON: the progress, then the error.
    const lines = json.stderr.trim().split('\n').map((l) => JSON.parse(l));
    assert.deepEqual(lines.at(-2), { progress: { file: 'other.qcow2', bytes: disk.length, total: disk.length, done: true } });
    assert.equal(lines.at(-1).error.code, 'CHECKSUM_MISMATCH');
    assert.match(lines.at(-1).error.message, /checksum mismatch/);
  });

  test('an image that points at a backing file is refused even with its right checksum', async () => {
    const r = await runCli(['image', 'fetch', 'sneaky', '--url', `${base}/overlay.qcow2`, '--sha512', sha('sha512', overlay)], env);
    assert.equal(r.exitCode, 1);
    assert.match(r.stderr, /did not send a disk image: it has a backing file/);
    assert.deepEqual((await readdir(images)).filter((f) => f.startsWith('overlay')), []);
  });

  test('no checksum, or a URL that answers 404: refused before anything is written', async () => {
    const none = await runCli(['image', 'fetch', 'x', '--url', `${base}/tiny-genericcloud-amd64.qcow2`], env);
    assert.equal(none.exitCode, 2);
    assert.match(none.stderr, /missing --sha512 or --sha256/);
    const missing = await runCli(['image', 'fetch', 'x', '--url', `${base}/nope.qcow2`, '--sha512', sha('sha512', disk)], env);
    assert.equal(missing.exitCode, 1);
    assert.match(missing.stderr, /nope\.qcow2 answered 404/);
  });
});
