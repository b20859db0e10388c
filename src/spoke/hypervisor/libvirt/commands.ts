// The only place the spoke runs virsh and qemu-img: argument arrays through execa (never a shell), a
// deadline on every call, and errors that say which command failed and what it printed.
import { execa } from 'execa';
import { commandFailures, commandSeconds } from '../../metrics';

export class CommandError extends Error {
  constructor(
    readonly command: string,
    readonly stderr: string,
    message: string,
  ) {
    super(message);
  }
}

export type Runner = (args: string[], opts?: { timeoutMs?: number }) => Promise<string>;

function runner(binary: string, prefix: string[]): Runner {
  return async (args, opts = {}) => {
    const labels = { binary, command: args[0] ?? '' };
    const started = performance.now();
    try {
      const { stdout } = await execa(binary, [...prefix, ...args], { timeout: opts.timeoutMs ?? 60_000 });
      commandSeconds.observe(labels, (performance.now() - started) / 1000);
      return stdout;
    } catch (err) {
      commandSeconds.observe(labels, (performance.now() - started) / 1000);
      commandFailures.inc(labels);
      const e = err as { code?: string; stderr?: string; timedOut?: boolean; shortMessage?: string };
      if (e.code === 'ENOENT') throw new CommandError(binary, '', `${binary} is not installed`);
      const stderr = (e.stderr ?? '').trim();
      const reason = e.timedOut ? `timed out after ${opts.timeoutMs ?? 60_000} ms` : stderr.replace(/^error: /gm, '').split('\n').join('; ') || e.shortMessage;
      throw new CommandError(binary, stderr, `${binary} ${args[0]}: ${reason}`);
    }
  };
}

export function virshRunner(uri: string): Runner {
  return runner('virsh', ['-c', uri]);
}

export const qemuImg: Runner = runner('qemu-img', []);
