// The operator CLI run as a person runs it: its own process (`npm run capsul -- …` is `tsx src/cli/main.ts`),
// talking to a hub over HTTPS with the environment given.
import { execa } from 'execa';
import type { Hub } from './processes';
import { ROOT } from './processes';
import type { TestTls } from './tls';

export type CliResult = { exitCode: number; stdout: string; stderr: string };

export async function runCli(args: string[], env: Record<string, string>): Promise<CliResult> {
  const r = await execa(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? '/root', ...env },
    extendEnv: false,
    reject: false,
    timeout: 120_000,
  });
  return { exitCode: r.exitCode ?? -1, stdout: String(r.stdout), stderr: String(r.stderr) };
}

/** What the CLI needs to reach this hub as its operator. */
export function cliEnv(hub: Hub, tls: TestTls, extra: Record<string, string> = {}): Record<string, string> {
  return { CAPSUL_HUB_URL: hub.url, HUB_ADMIN_TOKEN: hub.adminToken, TLS_CA_FILE: tls.caFile, ...extra };
}
