// The fake driver's serial line: not a VM, a few lines of TypeScript that behave like a tiny shell on one, so
// the console works (and is tested) without libvirt. It says so plainly: its banner and `help` call it
// simulated. It prints a boot banner naming the capsul at each (simulated) boot, echoes what is typed,
// answers `hostname` with the capsul id, and logs everything it prints to the capsul's boot-log ring, as
// QEMU's <log> does for a real serial port, whether anyone is attached or not.
import type { BootLogRing } from './ring';

const MAX_LINE = 1024;

export class SimulatedSerial {
  private line = '';
  private inEscape: 'no' | 'esc' | 'csi' = 'no';
  private listener: ((data: Buffer) => void) | undefined;

  constructor(
    readonly id: string,
    readonly ring: BootLogRing,
  ) {}

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
    for (const ch of data.toString('latin1')) this.key(ch);
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
      this.run(line.trim());
      this.prompt();
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

  private run(line: string): void {
    if (!line) return;
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
        return out('simulated console (fake driver): hostname, echo, whoami, uname, help');
      default:
        return out(`sh: ${command.slice(0, 64)}: not found (simulated console; try help)`);
    }
  }

  private prompt(): void {
    this.print(`root@${this.id}:~# `);
  }

  /** Prints on the line (also used by the fake driver for its power messages). */
  print(text: string): void {
    const data = Buffer.from(text, 'latin1');
    this.ring.append(data);
    this.listener?.(data);
  }
}
