// Hub and spoke as separate OS processes, started the way an operator starts them (src/main.ts with an
// environment), over real HTTPS. Logs are kept and printed when something does not come up.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { readFileSync } from 'node:fs';
import { createHubAdminClient, type HubAdminClient } from '~/cli/hub-admin-client';
import { newToken } from '~/lib/tokens';
import type { TestTls } from './tls';

export const ROOT = path.resolve(import.meta.dirname, '../..');

export type LogLine = Record<string, unknown> & { msg?: string; level?: string };

export async function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, host, () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

// Children die with the test process, whatever way it ends: no stray hub or spoke outlives its test.
const running = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

export class CapsulProcess {
  private readonly lines: string[] = [];
  private readonly listeners = new Set<(line: LogLine) => void>();
  readonly exited: Promise<number | null>;

  private constructor(
    readonly name: string,
    readonly child: ChildProcess,
  ) {
    let buffer = '';
    const onData = (chunk: Buffer) => {
      buffer += chunk.toString();
      let nl: number;
      while ((nl = buffer.indexOf('\n')) >= 0) {
        const line = buffer.slice(0, nl);
        buffer = buffer.slice(nl + 1);
        this.lines.push(line);
        let parsed: LogLine | undefined;
        try {
          parsed = JSON.parse(line) as LogLine;
        } catch {
          parsed = { msg: line };
        }
        for (const listener of this.listeners) listener(parsed);
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    running.add(child);
    this.exited = new Promise((resolve) =>
      child.once('exit', (code) => {
        running.delete(child);
        resolve(code);
      }),
    );
  }

  /** The usual command line: `node --import tsx src/main.ts`, optionally inside a network namespace. */
  static command(netns?: string): string[] {
    const node = [process.execPath, '--import', 'tsx', 'src/main.ts'];
    return netns ? ['ip', 'netns', 'exec', netns, ...node] : node;
  }

  /** Starts `node --import tsx <entry>` in its own process (no wrapper, so a kill -9 reaches it). */
  static async start(name: string, env: Record<string, string>, opts: { entry?: string; cwd?: string; ready?: (l: LogLine) => boolean; timeoutMs?: number; command?: string[] } = {}) {
    const command = opts.command ?? [process.execPath, '--import', 'tsx', opts.entry ?? 'src/main.ts'];
    const child = spawn(command[0]!, command.slice(1), {
      cwd: opts.cwd ?? ROOT,
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? '/root', NODE_ENV: 'production', LOG_LEVEL: 'info', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const proc = new CapsulProcess(name, child);
    await proc.waitFor(opts.ready ?? ((l) => l.msg === 'ready'), opts.timeoutMs ?? 90_000);
    return proc;
  }

  logs(): string {
    return this.lines.join('\n');
  }

  /** Resolves with the first log line (already seen or to come) that matches. */
  waitFor(match: (line: LogLine) => boolean, timeoutMs = 30_000): Promise<LogLine> {
    return new Promise((resolve, reject) => {
      for (const raw of this.lines) {
        try {
          const l = JSON.parse(raw) as LogLine;
          if (match(l)) return resolve(l);
        } catch {
          // not JSON
        }
      }
      const timer = setTimeout(() => {
        cleanup();
        reject(new Error(`${this.name}: expected log line not seen within ${timeoutMs} ms\n--- ${this.name} log ---\n${this.logs()}`));
      }, timeoutMs);
      const listener = (l: LogLine) => {
        if (match(l)) {
          cleanup();
          resolve(l);
        }
      };
      const onExit = (code: number | null) => {
        cleanup();
        reject(new Error(`${this.name} exited (${code}) before the expected log line\n--- ${this.name} log ---\n${this.logs()}`));
      };
      const cleanup = () => {
        clearTimeout(timer);
        this.listeners.delete(listener);
        this.child.off('exit', onExit);
      };
      this.listeners.add(listener);
      this.child.once('exit', onExit);
    });
  }

  /** kill -9: no shutdown code runs. */
  async kill(): Promise<void> {
    await this.stop('SIGKILL');
  }

  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    this.child.kill(signal);
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 10_000);
    await this.exited;
    clearTimeout(timer);
  }
}

export type Hub = {
  proc: CapsulProcess;
  url: string;
  port: number;
  hubSecret: string;
  adminToken: string;
  dataDir: string;
  admin: HubAdminClient;
};

/** A hub alone (HUB_MODE on, SPOKE_MODE off) on the given database. Needs `next build` to have run. */
export async function startHubProcess(opts: {
  databaseUrl?: string;
  tls: TestTls;
  env?: Record<string, string>;
  port?: number;
  name?: string;
  /** To start a hub again as the same hub: its tokens and folder. */
  same?: Pick<Hub, 'hubSecret' | 'adminToken' | 'dataDir'>;
  bind?: string;
  command?: string[];
}): Promise<Hub> {
  const port = opts.port ?? (await freePort());
  const dataDir = opts.same?.dataDir ?? (await mkdtemp(path.join(os.tmpdir(), 'capsul-hub-')));
  const hubSecret = opts.same?.hubSecret ?? newToken();
  const adminToken = opts.same?.adminToken ?? newToken();
  const bind = opts.bind ?? '127.0.0.1';
  const url = `https://${bind}:${port}`;
  const proc = await CapsulProcess.start(opts.name ?? 'hub', {
    HUB_MODE: 'true',
    SPOKE_MODE: 'false',
    PORT: String(port),
    BIND_ADDRESS: bind,
    DATA_DIR: dataDir,
    HUB_SECRET: hubSecret,
    HUB_ADMIN_TOKEN: adminToken,
    TLS_CERT_FILE: opts.tls.certFile,
    TLS_KEY_FILE: opts.tls.keyFile,
    TLS_CA_FILE: opts.tls.caFile,
    HEARTBEAT_PERIOD_MS: '1000',
    ONLINE_WINDOW_MS: '10000',
    SPOKE_CALL_TIMEOUT_MS: '5000',
    // Tests sign in with the links the hub writes to its log (support/accounts.ts), and call it by `url`.
    DEV_MODE: 'true',
    PUBLIC_URL: url,
    ...(opts.databaseUrl ? { DATABASE_URL: opts.databaseUrl } : {}),
    ...opts.env,
  }, { command: opts.command });
  const admin = createHubAdminClient({ hubUrl: url, adminToken, ca: readFileSync(opts.tls.caFile) });
  return { proc, url, port, hubSecret, adminToken, dataDir, admin };
}

/** hostToken: what the spoke presents to the hub (SPOKE_HOST_TOKEN); hubToken: what it accepts (HUB_TOKEN). */
export type SpokeHandle = { proc: CapsulProcess; hostId: string; url: string; port: number; hostToken: string; hubToken: string; stateDir: string };

/** A spoke alone, registered on the hub first (host add), as an operator would do it, with the tokens that gave
 * it. To start a spoke again as the same host, pass its hostToken and hubToken. */
export async function startSpokeProcess(opts: {
  hub: Hub;
  hostId: string;
  tls: TestTls;
  env?: Record<string, string>;
  port?: number;
  register?: boolean;
  hostToken?: string;
  hubToken?: string;
  stateDir?: string;
  bind?: string;
  command?: string[];
}): Promise<SpokeHandle> {
  const port = opts.port ?? (await freePort());
  const bind = opts.bind ?? '127.0.0.1';
  const url = `https://${bind}:${port}`;
  const added = opts.hostToken || opts.register === false ? undefined : await opts.hub.admin.host.add.mutate({ id: opts.hostId, httpsUrl: url });
  const hostToken = opts.hostToken ?? added?.token ?? newToken();
  const hubToken = opts.hubToken ?? added?.hubToken ?? (opts.register === false ? newToken() : undefined);
  if (!hubToken) throw new Error('startSpokeProcess: starting a registered host again needs its hubToken too');
  const stateDir = opts.stateDir ?? (await mkdtemp(path.join(os.tmpdir(), `capsul-${opts.hostId}-`)));
  const proc = await CapsulProcess.start(opts.hostId, {
    HUB_MODE: 'false',
    SPOKE_MODE: 'true',
    SPOKE_PORT: String(port),
    SPOKE_BIND_ADDRESS: bind,
    DATA_DIR: stateDir,
    SPOKE_STATE_DIR: stateDir,
    HUB_URL: opts.hub.url,
    HUB_TOKEN: hubToken,
    SPOKE_HOST_ID: opts.hostId,
    SPOKE_HOST_TOKEN: hostToken,
    SPOKE_DRIVER: 'fake',
    FAKE_CREATE_MS: '200',
    TLS_CERT_FILE: opts.tls.certFile,
    TLS_KEY_FILE: opts.tls.keyFile,
    TLS_CA_FILE: opts.tls.caFile,
    ...opts.env,
  }, { command: opts.command });
  return { proc, hostId: opts.hostId, url, port, hostToken, hubToken, stateDir };
}

export async function until<T>(what: string, probe: () => Promise<T | undefined | false>, timeoutMs = 30_000, everyMs = 200): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await probe();
      if (value) return value;
    } catch (err) {
      last = err;
    }
    await new Promise((r) => setTimeout(r, everyMs));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${(last as Error).message}` : ''}`);
}

/** Waits until the hub reports these hosts online. */
export function allOnline(hub: Hub, hostIds: string[], timeoutMs = 30_000) {
  return until(`hosts ${hostIds.join(', ')} online`, async () => {
    const hosts = await hub.admin.host.list.query();
    return hostIds.every((id) => hosts.find((h) => h.id === id)?.online) && hosts;
  }, timeoutMs);
}
