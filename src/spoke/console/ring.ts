// The boot log, bounded, on disk: what a capsul's serial line printed, kept across spoke restarts and guest
// reboots, so a viewer who attaches sees the last part of it. The libvirt driver needs none of this (QEMU's
// own <log> file is its boot log, read with `tailFiles`); the fake driver's simulated console writes here.
import { closeSync, existsSync, openSync, readSync, renameSync, statSync, writeFileSync, appendFileSync, rmSync } from 'node:fs';

/** The last `max` bytes of the files, read in order (oldest first: rotated logs, then the live one). */
export function tailFiles(files: string[], max: number): Buffer {
  const parts: Buffer[] = [];
  let wanted = max;
  for (const file of [...files].reverse()) {
    if (wanted <= 0) break;
    let size: number;
    try {
      size = statSync(file).size;
    } catch {
      continue; // not there (yet): nothing of it to show
    }
    const length = Math.min(size, wanted);
    const buf = Buffer.alloc(length);
    const fd = openSync(file, 'r');
    try {
      readSync(fd, buf, 0, length, size - length);
    } finally {
      closeSync(fd);
    }
    parts.unshift(buf);
    wanted -= length;
  }
  return Buffer.concat(parts);
}

/**
 * An append-only file kept between `keep` and 2×`keep` bytes: once it passes 2×`keep`, it is rewritten with
 * its last `keep` bytes (atomically: a crash leaves the old or the new file, never half of one). Writes are
 * synchronous and small (a serial line's output); a shell's output is a few KB/s.
 */
export class BootLogRing {
  private size: number;

  constructor(
    readonly file: string,
    private readonly keep: number,
  ) {
    this.size = existsSync(file) ? statSync(file).size : 0;
  }

  append(data: Buffer | string): void {
    const buf = typeof data === 'string' ? Buffer.from(data) : data;
    if (buf.length === 0) return;
    appendFileSync(this.file, buf);
    this.size += buf.length;
    if (this.size > 2 * this.keep) this.trim();
  }

  tail(max: number): Buffer {
    return tailFiles([this.file], max);
  }

  /** Bytes on disk now (between 0 and 2×keep). */
  get bytes(): number {
    return this.size;
  }

  remove(): void {
    rmSync(this.file, { force: true });
    this.size = 0;
  }

  private trim(): void {
    const last = this.tail(this.keep);
    const tmp = `${this.file}.tmp`;
    writeFileSync(tmp, last);
    renameSync(tmp, this.file);
    this.size = last.length;
  }
}
