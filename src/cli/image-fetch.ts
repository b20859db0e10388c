// `capsul image fetch`: downloads a cloud image into a spoke's images directory, refuses it unless its
// checksum is the one given, and checks with qemu-img that it is a disk image a capsul can be made from.
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { chmod, mkdir, rename, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { execa } from 'execa';

/** Why a fetch was refused, with a code for `--json`. */
export class ImageFetchError extends Error {
  constructor(
    readonly code: 'DOWNLOAD_FAILED' | 'CHECKSUM_MISMATCH' | 'NOT_AN_IMAGE',
    message: string,
  ) {
    super(message);
  }
}

export type Checksum = { algorithm: 'sha256' | 'sha512'; hex: string };
export type FetchedImage = { path: string; bytes: number; format: string; virtualSize: number; downloaded: boolean };

const MiB = 1024 * 1024;

async function hashOf(file: string, algorithm: Checksum['algorithm']): Promise<string> {
  const hash = createHash(algorithm);
  await pipeline(createReadStream(file), hash);
  return hash.digest('hex');
}

/**
 * A progress line on stderr: rewritten in place on a terminal, one line every 10% (or 100 MiB) otherwise;
 * with `json`, each of those lines a JSON object of its own.
 */
function progressReporter(name: string, total: number | undefined, out: NodeJS.WriteStream, json: boolean) {
  let lastStep = -1;
  let lastDraw = 0;
  const mib = (n: number) => (n / MiB).toFixed(n < 10 * MiB ? 1 : 0);
  const line = (done: number) => `downloading ${name}: ${mib(done)}${total ? ` of ${mib(total)} MiB (${Math.floor((done / total) * 100)}%)` : ' MiB'}`;
  const asJson = (bytes: number, done: boolean) => `${JSON.stringify({ progress: { file: name, bytes, total: total ?? null, done } })}\n`;
  return {
    update(done: number) {
      if (out.isTTY && !json) {
        if (Date.now() - lastDraw < 250) return;
        lastDraw = Date.now();
        out.write(`\r${line(done)}`);
        return;
      }
      const step = total ? Math.floor((done / total) * 10) : Math.floor(done / (100 * MiB));
      if (step > lastStep) {
        lastStep = step;
        out.write(json ? asJson(done, false) : `${line(done)}\n`);
      }
    },
    done(bytes: number) {
      out.write(json ? asJson(bytes, true) : `${out.isTTY ? '\r' : ''}${line(bytes)}, done\n`);
    },
  };
}

/** `qemu-img info` of the file: its format and virtual size; refuses what a capsul disk cannot be made from. */
async function inspect(file: string): Promise<{ format: string; virtualSize: number }> {
  let info: Record<string, unknown>;
  try {
    info = JSON.parse((await execa('qemu-img', ['info', '--output=json', file])).stdout) as Record<string, unknown>;
  } catch (err) {
    const e = err as { code?: string; stderr?: string; message: string };
    if (e.code === 'ENOENT') throw new Error('qemu-img is not installed (apt-get install -y qemu-utils)');
    throw new Error(`qemu-img cannot read it as a disk image: ${(e.stderr || e.message).trim()}`);
  }
  // A downloaded image that points at another file would make every capsul read that file.
  if (info['backing-filename'] !== undefined) throw new Error(`it has a backing file (${String(info['backing-filename'])}): only self-contained images are taken`);
  if (typeof info.format !== 'string' || typeof info['virtual-size'] !== 'number') throw new Error('qemu-img info gave no format or size');
  return { format: info.format, virtualSize: info['virtual-size'] };
}

/**
 * Downloads `url` to `dir/file` (through `file.part`, so a half download is never taken for an image),
 * verifying the checksum on the way. A file already there with the right checksum is kept as it is. On a
 * mismatch the download is deleted and nothing else changes.
 */
export async function fetchImage(opts: { url: string; dir: string; file: string; checksum: Checksum; progress: NodeJS.WriteStream; json: boolean }): Promise<FetchedImage> {
  const target = path.join(opts.dir, opts.file);
  const want = opts.checksum.hex.toLowerCase();
  const name = opts.checksum.algorithm.toUpperCase().replace('SHA', 'SHA-');
  await mkdir(opts.dir, { recursive: true, mode: 0o755 });

  const existing = await stat(target).catch(() => undefined);
  if (existing && (await hashOf(target, opts.checksum.algorithm)) === want) {
    if (!opts.json) opts.progress.write(`${opts.file} is already in ${opts.dir} with that ${name}; not downloading it again\n`);
    return { path: target, bytes: existing.size, ...(await inspect(target)), downloaded: false };
  }

  let res: Response;
  try {
    res = await fetch(opts.url, { redirect: 'follow' });
  } catch (err) {
    const cause = (err as { cause?: { message?: string; code?: string } }).cause;
    throw new ImageFetchError('DOWNLOAD_FAILED', `no answer from ${opts.url}: ${cause?.message ?? cause?.code ?? (err as Error).message}`);
  }
  if (!res.ok || !res.body) throw new ImageFetchError('DOWNLOAD_FAILED', `${opts.url} answered ${res.status} ${res.statusText}`);
  const total = Number(res.headers.get('content-length')) || undefined;
  const part = `${target}.part`;
  const hash = createHash(opts.checksum.algorithm);
  const progress = progressReporter(opts.file, total, opts.progress, opts.json);
  let bytes = 0;
  const count = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      bytes += chunk.length;
      hash.update(chunk);
      progress.update(bytes);
      done(null, chunk);
    },
  });
  try {
    await pipeline(Readable.fromWeb(res.body as import('node:stream/web').ReadableStream), count, createWriteStream(part, { mode: 0o644 }));
    progress.done(bytes);
    const got = hash.digest('hex');
    if (got !== want) throw new ImageFetchError('CHECKSUM_MISMATCH', `checksum mismatch: the ${name} of what ${opts.url} sent is ${got}, not ${want}; the download was deleted`);
    const info = await inspect(part).catch((err: Error) => {
      throw new ImageFetchError('NOT_AN_IMAGE', `${opts.url} did not send a disk image: ${err.message}; the download was deleted`);
    });
    await chmod(part, 0o644); // QEMU runs as its own user and must read it
    await rename(part, target);
    return { path: target, bytes, ...info, downloaded: true };
  } finally {
    await rm(part, { force: true });
  }
}
