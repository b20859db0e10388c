// The fake driver's serial line: not a VM, a few lines of TypeScript that behave like a tiny shell on one, so
// the console works (and is tested) without libvirt. It says so plainly: its banner and `help` call it
// simulated. It prints a boot banner naming the capsul at each (simulated) boot, echoes what is typed,
// answers `hostname` with the capsul id, and logs everything it prints to the capsul's boot-log ring, as
// QEMU's <log> does for a real serial port, whether anyone is attached or not.
import type { BootLogRing } from './ring';

const MAX_LINE = 1024;
/** `yes | head -c N`: at most this much (the bench's throughput run prints 10 MiB). */
const MAX_YES = 64 * 1024 * 1024;
const YES_CHUNK = 16 * 1024;

/** `10M`, `64k`, `1000`: bytes. */
function parseSize(text: string): number | null {
  const m = /^(\d+)([kKmMgG]?)$/.exec(text);
  if (!m) return null;
  const unit = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 }[m[2]!.toLowerCase() as '' | 'k' | 'm' | 'g'];
  return Number(m[1]) * unit;
}

export class SimulatedSerial {
  private line = '';
  private inEscape: 'no' | 'esc' | 'csi' = 'no';
  private listener: ((data: Buffer) => void) | undefined;

  constructor(
    readonly id: string,
    readonly ring: BootLogRing,
  ) {}

  /** Whether the attachment's viewers are behind (a bulk print waits for them, as a real UART would). */
  congested: () => boolean = () => false;
  /** A bulk print (`yes`) in progress: keys other than Ctrl-C wait. */
  private bulk: { stop: boolean } | undefined;

  /** What the serial line prints goes to the ring and to the one attachment, if there is one. */
  attach(listener: (data: Buffer) => void): () => void {
    this.listener = listener;
    return () => {
      if (this.listener === listener) this.listener = undefined;
    };
  }

  boot(): void {
    this.line = '';
    this.print(
      [
        '',
        `[    0.000000] Capsul fake driver: booting ${this.id}`,
        '[    0.000001] This is a SIMULATED serial console: no VM runs behind it, only an echoing line shell.',
        `[    0.000002] ${this.id} login: root (automatic)`,
        '',
        '',
      ].join('\r\n'),
    );
    this.prompt();
  }

  /** Keystrokes from the viewers. */
  input(data: Buffer): void {
    for (const ch of data.toString('latin1')) {
      if (this.bulk) {
        if (ch === '\x03') this.bulk.stop = true;
        continue;
      }
      this.key(ch);
    }
  }

  private key(ch: string): void {
    // Escape sequences (arrows, the terminal's answers to queries) are swallowed.
    if (this.inEscape === 'esc') {
      this.inEscape = ch === '[' ? 'csi' : 'no';
      return;
    }
    if (this.inEscape === 'csi') {
      if (ch >= '@' && ch <= '~') this.inEscape = 'no';
      return;
    }
    if (ch === '\x1b') {
      this.inEscape = 'esc';
      return;
    }
    if (ch === '\r' || ch === '\n') {
      if (ch === '\n' && this.lastWasCr) return void (this.lastWasCr = false);
      this.lastWasCr = ch === '\r';
      this.print('\r\n');
      const line = this.line;
      this.line = '';
      if (this.run(line.trim()) !== 'later') this.prompt();
      return;
    }
    this.lastWasCr = false;
    if (ch === '\x7f' || ch === '\b') {
      if (this.line.length > 0) {
        this.line = this.line.slice(0, -1);
        this.print('\b \b');
      }
      return;
    }
    if (ch === '\x03') {
      this.line = '';
      this.print('^C\r\n');
      this.prompt();
      return;
    }
    if (ch < ' ' || this.line.length >= MAX_LINE) return;
    this.line += ch;
    this.print(ch);
  }

  private lastWasCr = false;

  private run(line: string): 'later' | void {
    if (!line) return;
    const yes = /^yes(?:\s*\|\s*head\s+-c\s*(\S+))?$/.exec(line);
    if (yes) {
      const size = yes[1] === undefined ? MAX_YES : parseSize(yes[1]);
      if (size === null) return void this.print(`head: invalid number of bytes: '${yes[1]!.slice(0, 32)}'\r\n`);
      void this.yes(Math.min(size, MAX_YES));
      return 'later';
    }
    const [command = '', ...args] = line.split(/\s+/);
    const out = (text: string) => this.print(`${text}\r\n`);
    switch (command) {
      case 'hostname':
        return out(this.id);
      case 'echo':
        return out(args.join(' '));
      case 'whoami':
        return out('root');
      case 'uname':
        return out('Capsul-simulated-console');
      case 'help':
        return out('simulated console (fake driver): hostname, echo, whoami, uname, yes [| head -c N], help');
      default:
        return out(`sh: ${command.slice(0, 64)}: not found (simulated console; try help)`);
    }
  }

  /** `y\n` until `size` bytes are out or Ctrl-C, in chunks, waiting while the viewers are behind. */
  private async yes(size: number): Promise<void> {
    const bulk = { stop: false };
    this.bulk = bulk;
    const chunk = Buffer.from('y\n'.repeat(YES_CHUNK / 2), 'latin1');
    let left = size;
    while (left > 0 && !bulk.stop) {
      if (this.congested()) {
        await new Promise((r) => setTimeout(r, 2));
        continue;
      }
      const n = Math.min(left, chunk.length);
      this.print(chunk.subarray(0, n));
      left -= n;
      await new Promise((r) => setImmediate(r));
    }
    this.bulk = undefined;
    if (bulk.stop) this.print('^C\r\n');
    this.prompt();
  }

  private prompt(): void {
    this.print(`root@${this.id}:~# `);
  }

  /** Prints on the line (also used by the fake driver for its power messages). */
  print(text: string | Buffer): void {
    const data = typeof text === 'string' ? Buffer.from(text, 'latin1') : text;
    this.ring.append(data);
    this.listener?.(data);
  }
}
