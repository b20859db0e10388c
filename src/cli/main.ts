// `npm run capsul -- <command>`: drive a fleet without a browser. Every command goes through the hub's tRPC
// router, so the CLI uses the same operations module (and leaves the same records) as the console.
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { TRPCClientError } from '@trpc/client';
import { fileName } from '~/contract/spoke';
import { isLoopbackUrl } from '~/lib/loopback';
import { newToken } from '~/lib/tokens';
import { fieldIssues } from '~/lib/trpc-errors';
import { adminSettingsFromEnv, createHubAdminClient, type HubAdminClient } from './hub-admin-client';
import { fetchImage, ImageFetchError } from './image-fetch';
import { BILLING_COMMANDS, billingCommand } from './billing';
import { CHANGE_COMMANDS, ChangeFailed, changeCommand } from './changes';
import { UsageError } from './usage-error';
import { attachConsole } from './console';

const USAGE = `usage: npm run capsul -- <command> [options]   (add --json for machine-readable output)

  host list                              hosts, online state, driver, last heartbeat
  host join <id> <address> [--port 8443] [--hub-url URL] > spoke.env
                                         register a spoke, sign its certificate, print its whole
                                         environment (then on the spoke: sudo scripts/join-spoke.sh spoke.env)
  host add <id> <https-url>              register a spoke; prints its SPOKE_HOST_TOKEN and HUB_TOKEN once
  host rotate-token <id> [--window-ms N] new SPOKE_HOST_TOKEN for a host, printed once; the old one is
                                         accepted for N ms more (default TOKEN_ROTATION_WINDOW_MS, a day)
                                         or until the spoke presents the new one; 0: refused at once
  host rotate-hub-token <id> [--window-ms N]
                                         new HUB_TOKEN for a host's spoke, printed once; the hub presents the
                                         old one too while the spoke refuses the new one, for N ms more or
                                         until the spoke takes the new one
  host remove <id>                       remove a host that has no capsuls

  create --owner <email> --image <id> (--size <id> | --vcpus N --memory MiB --disk GiB)
         [--name <name>] [--key "<ssh public key>"]... [--key-file <file>]...
  list [--owner <email>] [--all]         capsuls in the database
  get <capsul-id>                        ask the owner host for state and address
  rename <capsul-id> <name>              a new name (unique among the owner's capsuls)
  start|stop|force-stop|restart <capsul-id>
  destroy <capsul-id>
  resize <capsul-id> --size <id> [--wait]
                                         grow a capsul to a larger size (a running one is stopped and
                                         started); --wait: until it has finished, exit 1 if it failed
  snapshot create <capsul-id> --name N [--note T] [--wait]
  snapshot list <capsul-id>              its snapshots: name, size on the host, when taken
  snapshot revert|delete <capsul-id> <snapshot-id> [--wait]
                                         revert: the disk as it was then (later snapshots are removed)
  rebuild <capsul-id> --image <id> --confirm <capsul name> [--key "<key>"]... [--key-file F]... [--wait]
                                         a new disk from the image with these keys; same id and address;
                                         everything on the old disk and its snapshots are gone
  console <capsul-id>                    attach this terminal to the capsul's serial console, through the
                                         hub (raw mode; Ctrl-] leaves)

  image list                             the OsImage catalog
  image add <id> --name N --file F [--kernel K --initrd I --cmdline C] [--login-user U]
                                         add or change an image (files in each spoke's images folder)
  image fetch <id> --url URL (--sha512 HEX | --sha256 HEX) [--name N] [--file F] [--login-user U] [--dir D]
                                         download a cloud image into this machine's images folder
                                         (SPOKE_IMAGES_DIR, default DATA_DIR/images), check its checksum
                                         and qemu-img info, then add it to the catalog
  image disable <id>

  limits show [--account <email>]        the default limits, or an account's and what it holds
  limits set [--account <email>] [--capsuls N] [--vcpus N] [--memory MiB] [--disk GiB]
                                         set the default limits, or an account's own; "none" removes
                                         one (the default's: no limit; an account's: the default's holds)
  limits clear --account <email>         an account back to the default limits

  balance <email>                        an account's balance, what it pays a month now, when it runs out
  credit|debit <email> <amount> --note "why"
                                         an admin's credit or debit, in BILLING_CURRENCY (e.g. 12.50)
  ledger <email> [--limit N]             the account's ledger, newest first (payments, usage per capsul, …)
  prices                                 each size's monthly price now, and changes set for later
  prices set <size> <amount>             a new monthly price for a size, from now on (never backwards)
  billing-account <email> [--multiplier PERCENT] [--exempt yes|no]
                                         an account's price multiplier; exempt: never stopped or deleted
                                         for its balance

  fleet list                             what every online host reports (virsh list)
  fleet capacity --memory MiB --disk GiB what every online host can take
  operations [--kind K] [--state S] [--host H] [--capsul ID] [--limit N]
  operation <id>                         one operation: who, what, each host's status, result, timing
  token                                  print a new random token (32 bytes)

The hub is CAPSUL_HUB_URL (default HUB_URL, or https://localhost:$PORT); the admin token is
HUB_ADMIN_TOKEN or the quick start's .data/secrets.json; the CA is TLS_CA_FILE or .data/tls/ca.pem; .env is
read first, as the hub does. With --json, every answer is JSON on stdout and every error a JSON object
{ "error": { "code", "message", … } } on stderr; the exit code is 0, 1 (the hub refused or failed) or 2 (usage).`;

const OPTIONS = {
  json: { type: 'boolean' },
  all: { type: 'boolean' },
  owner: { type: 'string' },
  account: { type: 'string' },
  capsuls: { type: 'string' },
  image: { type: 'string' },
  size: { type: 'string' },
  vcpus: { type: 'string' },
  memory: { type: 'string' },
  disk: { type: 'string' },
  key: { type: 'string', multiple: true },
  'key-file': { type: 'string', multiple: true },
  kind: { type: 'string' },
  state: { type: 'string' },
  host: { type: 'string' },
  capsul: { type: 'string' },
  limit: { type: 'string' },
  name: { type: 'string' },
  file: { type: 'string' },
  kernel: { type: 'string' },
  initrd: { type: 'string' },
  cmdline: { type: 'string' },
  port: { type: 'string' },
  'hub-url': { type: 'string' },
  'window-ms': { type: 'string' },
  'login-user': { type: 'string' },
  url: { type: 'string' },
  sha256: { type: 'string' },
  sha512: { type: 'string' },
  dir: { type: 'string' },
  note: { type: 'string' },
  multiplier: { type: 'string' },
  exempt: { type: 'string' },
  confirm: { type: 'string' },
  wait: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

type Values = ReturnType<typeof parseArgs<{ options: typeof OPTIONS; allowPositionals: true }>>['values'];

function num(value: string | undefined): number | undefined {
  return value === undefined ? undefined : Number(value);
}

/** What a rotation left valid, for the operator: when the previous token stops working. */
function previousNote(previous: { until: Date | null } | null, how: string, until: string): string {
  if (!previous) return 'note: the previous token stops working now\n';
  const deadline = previous.until ? ` until ${previous.until.toISOString()} or` : '';
  return `note: the previous token is still ${how}${deadline} until ${until}; put this one in the spoke's environment and restart it\n`;
}

function table(rows: Record<string, unknown>[]): string {
  if (rows.length === 0) return '(none)';
  const keys = Object.keys(rows[0]!);
  const cell = (v: unknown) => (v instanceof Date ? v.toISOString() : v === null || v === undefined ? '-' : String(v));
  const widths = keys.map((k) => Math.max(k.length, ...rows.map((r) => cell(r[k]).length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd();
  return [line(keys), ...rows.map((r) => line(keys.map((k) => cell(r[k]))))].join('\n');
}

/** A limit as given on the command line: "none" removes it; left out, it stays as it is. */
function limitArg(value: string | undefined): number | null | undefined {
  return value === undefined ? undefined : value === 'none' ? null : Number(value);
}

type LimitsShown = {
  account: string | null;
  limits: Record<string, number | null>;
  own: Record<string, number | null> | null;
  usage: Record<string, number> | null;
};

/** One row per limit: what holds, and for an account whether it is its own and what it holds now. */
function limitsTable(shown: LimitsShown): string {
  const rows = Object.entries(shown.limits).map(([limit, allowed]) => ({
    limit,
    allowed: allowed ?? 'no limit',
    ...(shown.account ? { own: shown.own?.[limit] != null ? 'yes' : 'no (the default)', inUse: shown.usage?.[limit] ?? 0 } : {}),
  }));
  return `${shown.account ? `limits of ${shown.account}` : 'default limits, for every account without its own'}\n${table(rows)}`;
}

function keysFrom(values: Values): string[] {
  const fromFiles = (values['key-file'] ?? []).flatMap((file) =>
    readFileSync(file, 'utf8')
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l && !l.startsWith('#')),
  );
  return [...(values.key ?? []), ...fromFiles];
}

async function run(hub: HubAdminClient, args: string[], values: Values): Promise<unknown> {
  const [command, sub, third] = args;
  const need = (value: string | undefined, what: string): string => {
    if (!value) throw new UsageError(`missing ${what}`);
    return value;
  };
  if (command && BILLING_COMMANDS.includes(command)) return billingCommand(hub, args, values);
  if (command && CHANGE_COMMANDS.includes(command)) return changeCommand(hub, args, values, () => keysFrom(values));
  switch (command) {
    case 'host':
      switch (sub) {
        case 'list':
          return (await hub.host.list.query()).map((h) => ({
            id: h.id, online: h.online, driver: h.driver, capsuls: h.capsuls, lastHeartbeat: h.lastHealthCheck, url: h.httpsUrl,
            hostToken: h.hostToken, hubToken: h.hubToken, lastError: h.lastError,
          }));
        case 'add': {
          const added = await hub.host.add.mutate({ id: need(third, 'host id'), httpsUrl: need(args[3], 'https URL') });
          if (values.json) return added;
          if (added.hubUrlIsLoopback) process.stderr.write(`warning: the hub's URL is ${added.hubUrl}, which a spoke on another machine cannot reach: set PUBLIC_URL on the hub, and give the spoke that as HUB_URL\n`);
          return [
            `host ${added.id} added. Give its spoke this environment (the tokens are shown only now):`,
            '',
            `HUB_URL=${added.hubUrl}`,
            `SPOKE_HOST_ID=${added.id}`,
            `SPOKE_HOST_TOKEN=${added.token}`,
            `HUB_TOKEN=${added.hubToken}`,
            `SPOKE_URL=${added.httpsUrl}`,
            '',
            added.ca
              ? 'and, as its TLS_CA_FILE, the hub\'s CA (`host join` instead does all of this and signs the spoke\'s certificate):\n' + added.ca.trimEnd()
              : 'The hub\'s certificate is checked against the system\'s store (no TLS_CA_FILE).',
          ].join('\n');
        }
        case 'join': {
          const joined = await hub.host.join.mutate({
            id: need(third, 'host id'), address: need(args[3], 'address'), port: num(values.port) ?? 8443, hubUrl: values['hub-url'],
          });
          const warnings = [
            ...(isLoopbackUrl(joined.hubUrl)
              ? [`the spoke is told to reach the hub at ${joined.hubUrl}, and on another machine that name is the spoke's own machine: run again with --hub-url https://<this hub's address>:<port>, or set PUBLIC_URL on the hub`]
              : []),
            ...(joined.signed ? [] : ['the hub has no CA key (TLS_CA_KEY_FILE), so the spoke needs its own certificate']),
          ];
          if (values.json) return { ...joined, warnings };
          for (const w of warnings) process.stderr.write(`warning: ${w}\n`);
          return joined.envFile.trimEnd();
        }
        case 'rotate-token': {
          const updated = await hub.host.update.mutate({ id: need(third, 'host id'), rotateToken: true, windowMs: num(values['window-ms']) });
          if (!values.json) process.stderr.write(previousNote(updated.previous, 'accepted from the spoke', 'it presents the new one'));
          return values.json ? updated : `SPOKE_HOST_TOKEN=${updated.token}`;
        }
        case 'rotate-hub-token': {
          const rotated = await hub.host.rotateHubToken.mutate({ id: need(third, 'host id'), windowMs: num(values['window-ms']) });
          if (!values.json) process.stderr.write(previousNote(rotated.previous, 'presented to the spoke', 'the spoke takes the new one'));
          return values.json ? rotated : `HUB_TOKEN=${rotated.hubToken}`;
        }
        case 'remove':
          return hub.host.remove.mutate({ id: need(third, 'host id') });
      }
      break;
    case 'image':
      if (sub === 'list') return hub.image.list.query();
      if (sub === 'add') {
        return hub.image.upsert.mutate({
          id: need(third, 'image id'), name: need(values.name, '--name'), file: need(values.file, '--file'),
          kernel: values.kernel, initrd: values.initrd, cmdline: values.cmdline, loginUser: values['login-user'],
        });
      }
      if (sub === 'fetch') return imageFetch(hub, need(third, 'image id'), values);
      if (sub === 'disable') return hub.image.disable.mutate({ id: need(third, 'image id') });
      break;
    case 'create':
      return hub.capsul.create.mutate({
        name: values.name,
        owner: need(values.owner, '--owner'),
        image: need(values.image, '--image'),
        size: values.size,
        vcpus: num(values.vcpus),
        memoryMb: num(values.memory),
        diskGb: num(values.disk),
        sshAuthorizedKeys: keysFrom(values),
      });
    case 'list':
      return (await hub.capsul.list.query({ owner: values.owner, includeDeleted: !!values.all })).map((c) => ({
        id: c.id, name: c.name, state: c.state, owner: c.ownerEmail, host: c.hostId, ipv4: c.ipv4, vcpus: c.vcpus, memoryMb: c.memoryMb, diskGb: c.diskGb, image: c.image, created: c.createdAt,
      }));
    case 'get': {
      // The same record `list` shows; the owner host is asked only for a capsul that should be on one. A
      // failed or deleted capsul is shown as the hub has it (with its error), as `list` shows it.
      const id = need(sub, 'capsul id');
      const known = await hub.capsul.byId.query({ id });
      const settled = known.state === 'failed' || known.state === 'deleted' || !known.hostId;
      const asked = settled ? undefined : await hub.capsul.refresh.mutate({ id });
      const c = asked ? { ...known, ...asked.capsul } : known;
      return {
        id: c.id, name: c.name, state: c.state, owner: c.owner.email, host: c.hostId, ipv4: c.ipv4, ipv6: c.ipv6, vcpus: c.vcpus, memoryMb: c.memoryMb, diskGb: c.diskGb,
        image: c.image, created: c.createdAt, error: c.error,
        onHost: asked ? (asked.onHost?.state ?? 'not there') : `not asked (${c.hostId ? c.state : 'on no host'})`,
        ...(asked ? { operationId: asked.operationId } : {}),
      };
    }
    case 'rename':
      return hub.capsul.rename.mutate({ id: need(sub, 'capsul id'), name: need(third, 'new name') });
    case 'start':
    case 'stop':
    case 'restart':
    case 'force-stop':
      return hub.capsul.setState.mutate({
        id: need(sub, 'capsul id'),
        command: command === 'force-stop' ? 'forceStop' : command,
      });
    case 'destroy':
      return hub.capsul.destroy.mutate({ id: need(sub, 'capsul id') });
    case 'limits': {
      if (sub === 'show') {
        const shown = await hub.limits.show.query({ account: values.account });
        return values.json ? shown : limitsTable(shown);
      }
      if (sub === 'set') {
        const change = { capsuls: limitArg(values.capsuls), vcpus: limitArg(values.vcpus), memoryMb: limitArg(values.memory), diskGb: limitArg(values.disk) };
        if (Object.values(change).every((v) => v === undefined)) throw new UsageError('give at least one of --capsuls, --vcpus, --memory, --disk');
        const shown = await hub.limits.set.mutate({ account: values.account, ...change });
        return values.json ? shown : limitsTable(shown);
      }
      if (sub === 'clear') return hub.limits.clear.mutate({ account: need(values.account, '--account') });
      break;
    }
    case 'fleet':
      if (sub === 'list') {
        const fleet = await hub.fleet.list.mutate();
        return values.json ? fleet : `${table(fleet.capsuls)}${fleet.failed.length ? `\n\nhosts that did not answer:\n${table(fleet.failed)}` : ''}`;
      }
      if (sub === 'capacity') {
        const capacity = await hub.fleet.capacity.mutate({ memoryMb: num(need(values.memory, '--memory'))!, diskGb: num(need(values.disk, '--disk'))! });
        return values.json ? capacity : `${table(capacity.hosts)}${capacity.failed.length ? `\n\nhosts that did not answer:\n${table(capacity.failed)}` : ''}`;
      }
      break;
    case 'operations': {
      const ops = await hub.operation.list.query({
        kind: values.kind as never, state: values.state as never, hostId: values.host, capsulId: values.capsul, limit: num(values.limit) ?? 50,
      });
      if (values.json) return ops;
      return ops.map((o) => ({
        id: o.id, action: o.action, state: o.state, actor: o.actor, capsul: o.capsulId, name: o.capsul?.name, owner: o.hostId, created: o.createdAt,
        ms: o.completedAt ? o.completedAt.getTime() - o.createdAt.getTime() : null,
        hosts: o.hostOperations.map((h) => `${h.hostId}:${h.assignmentStatus}`).join(' '),
        error: o.error,
      }));
    }
    case 'operation': {
      const op = await hub.operation.byId.query({ id: need(sub, 'operation id') });
      if (values.json) return op;
      const took = (to: Date | null) => (to ? `${to.getTime() - op.createdAt.getTime()} ms` : '-');
      return [
        `operation ${op.id}: ${op.action} by ${op.actor}, ${op.state}${op.error ? ` (${op.error})` : ''}`,
        `capsul ${op.capsulId ?? '-'}${op.capsul ? ` (${op.capsul.name})` : ''}, owner ${op.hostId ?? '-'}, started ${op.createdAt.toISOString()}, took ${took(op.completedAt)}`,
        `payload ${JSON.stringify(op.payload)}`,
        '',
        table(op.hostOperations.map((h) => ({ host: h.hostId, status: h.assignmentStatus, took: took(h.completedAt), reason: h.reason, result: h.result ? JSON.stringify(h.result) : null }))),
      ].join('\n');
    }
    case 'token':
      return values.json ? { token: newToken() } : newToken();
  }
  throw new UsageError(`unknown command: ${args.join(' ') || '(none)'}`);
}


async function imageFetch(hub: HubAdminClient, id: string, values: Values) {
  const url = values.url;
  if (!url) throw new UsageError('missing --url');
  const sum = values.sha512 ? { algorithm: 'sha512' as const, hex: values.sha512 } : values.sha256 ? { algorithm: 'sha256' as const, hex: values.sha256 } : undefined;
  if (!sum) throw new UsageError('missing --sha512 or --sha256 (the image\'s published checksum: a download is never taken unchecked)');
  if (!/^[0-9a-fA-F]+$/.test(sum.hex) || sum.hex.length !== (sum.algorithm === 'sha512' ? 128 : 64)) {
    throw new UsageError(`--${sum.algorithm} must be ${sum.algorithm === 'sha512' ? 128 : 64} hexadecimal digits`);
  }
  const file = values.file ?? decodeURIComponent(new URL(url).pathname.split('/').pop() ?? '');
  if (!fileName.safeParse(file).success) throw new UsageError(`cannot name the file after the URL ("${file}"): give --file <name>`);
  const dir = path.resolve(values.dir ?? process.env.SPOKE_IMAGES_DIR ?? path.join(process.env.DATA_DIR || '.data', 'images'));
  // Asked before the download: a hub that does not answer, or refuses the token, should not cost one.
  const existing = (await hub.image.list.query()).find((i) => i.id === id);
  const fetched = await fetchImage({ url, dir, file, checksum: sum, progress: process.stderr, json: !!values.json });
  // A cloud image boots from its disk: an existing row's kernel, initrd and command line are dropped.
  const image = await hub.image.upsert.mutate({ id, file, name: values.name ?? existing?.name ?? id, loginUser: values['login-user'], sortOrder: existing?.sortOrder });
  const result = { image, path: fetched.path, format: fetched.format, virtualSizeGb: Math.round((fetched.virtualSize / 1024 ** 3) * 10) / 10, bytes: fetched.bytes, downloaded: fetched.downloaded, [sum.algorithm]: sum.hex.toLowerCase() };
  if (values.json) return result;
  return [
    `${id} is in the catalog: ${image.name}, ${file} (${fetched.format}, ${result.virtualSizeGb} GiB virtual), login user ${image.loginUser}.`,
    `The file is in ${dir}; a spoke offers the image once the file is in its own SPOKE_IMAGES_DIR (copy it, or run this there), from its next heartbeat.`,
  ].join('\n');
}

/** The ids people give `create`, from the hub; or why it could not say. */
async function catalogNote(): Promise<{ text: string; catalog?: unknown; error?: string }> {
  let settings;
  try {
    settings = adminSettingsFromEnv();
  } catch (err) {
    return { text: `Sizes and images: ${(err as Error).message}.`, error: (err as Error).message };
  }
  try {
    const hub = createHubAdminClient(settings);
    const catalog = await Promise.race([
      hub.catalog.list.query(),
      new Promise<never>((_, reject) => setTimeout(() => reject(new Error('no answer within 3 s')), 3000).unref()),
    ]);
    const width = Math.max(12, ...catalog.sizes.map((s) => s.id.length), ...catalog.images.map((i) => i.id.length)) + 2;
    const sizes = catalog.sizes.map((s) => `  ${s.id.padEnd(width)}${s.name}: ${s.vcpus} vCPU, ${s.memoryMb} MiB, ${s.diskGb} GiB`);
    const images = catalog.images.map((i) => `  ${i.id.padEnd(width)}${i.name}${i.unavailable ? ` (unavailable: ${i.unavailable})` : ''}`);
    return { text: `Sizes (--size) on ${settings.hubUrl}:\n${sizes.join('\n') || '  (none)'}\nImages (--image):\n${images.join('\n') || '  (none)'}`, catalog };
  } catch (err) {
    const why = describeFailure(err, settings.hubUrl).message;
    return { text: `Sizes and images are listed here when the hub answers; ${why}.`, error: why };
  }
}

/** The innermost reason a call got no answer: ECONNREFUSED, a certificate error, a timeout. */
function rootCause(err: unknown): string {
  let e = err as { cause?: unknown; code?: string; message?: string } | undefined;
  let reason = e?.message ?? String(err);
  for (let depth = 0; e && depth < 5; depth++, e = e.cause as typeof e) {
    if (e.code || e.message) reason = [e.code, e.message].filter(Boolean).join(': ');
  }
  return reason;
}

/** An error as the CLI reports it; `fromHub`: the hub's own answer (its code is a tRPC code). */
type Failure = { code: string; message: string; exitCode: number; fromHub?: boolean; hosts?: { hostId: string; status: string; reason: string }[]; issues?: unknown };

function describeFailure(err: unknown, hubUrl?: string): Failure {
  if (err instanceof UsageError) return { code: 'USAGE', message: err.message, exitCode: 2 };
  if (err instanceof ImageFetchError) return { code: err.code, message: err.message, exitCode: 1 };
  if (err instanceof ChangeFailed) return { code: 'CHANGE_FAILED', message: err.message, exitCode: 1 };
  if (err instanceof TRPCClientError) {
    const data = err.data as { code?: string; hosts?: Failure['hosts']; issues?: unknown } | undefined;
    if (!data?.code) {
      return { code: 'NO_ANSWER', message: `no answer from the hub at ${hubUrl ?? 'its URL'} (${rootCause(err)}): is it running, and is that its address? (CAPSUL_HUB_URL, HUB_URL or PORT)`, exitCode: 1 };
    }
    // A refused field is named here, from the error's data: "size: There is no size "x"; …".
    const issues = fieldIssues(err).map((i) => `${i.path}: ${i.message}`);
    const message = issues.length > 1 ? `\n  ${issues.join('\n  ')}` : (issues[0] ?? err.message);
    return { code: data.code, message, exitCode: 1, fromHub: true, ...(data.hosts ? { hosts: data.hosts } : {}), ...(data.issues ? { issues: data.issues } : {}) };
  }
  return { code: 'ERROR', message: (err as Error).message, exitCode: 1 };
}

async function main(): Promise<number> {
  const json = process.argv.includes('--json');
  const fail = (failure: Failure, usage = false) => {
    if (json) {
      const { exitCode: _, fromHub: __, ...error } = failure;
      process.stderr.write(`${JSON.stringify({ error })}\n`);
    } else {
      process.stderr.write(`error${failure.fromHub ? ` (${failure.code})` : ''}: ${failure.message}\n`);
      for (const h of failure.hosts ?? []) process.stderr.write(`  ${h.hostId}: ${h.status}${h.reason ? ` — ${h.reason}` : ''}\n`);
      if (usage) process.stderr.write(`\n${USAGE}\n`);
    }
    return failure.exitCode;
  };
  if (existsSync('.env')) process.loadEnvFile('.env'); // the settings the hub runs with, as src/main.ts reads them
  let parsed;
  try {
    parsed = parseArgs({ options: OPTIONS, allowPositionals: true, strict: true });
  } catch (err) {
    return fail({ code: 'USAGE', message: (err as Error).message, exitCode: 2 }, true);
  }
  const { values, positionals } = parsed;
  if (values.help || positionals.length === 0) {
    const note = await catalogNote();
    if (json) process.stdout.write(`${JSON.stringify({ usage: USAGE, catalog: note.catalog, catalogError: note.error }, null, 2)}\n`);
    else process.stdout.write(`${USAGE}\n\n${note.text}\n`);
    return positionals.length === 0 && !values.help ? 2 : 0;
  }
  let hubUrl: string | undefined;
  try {
    let hub: HubAdminClient = undefined as never;
    if (positionals[0] !== 'token') {
      const settings = adminSettingsFromEnv();
      hubUrl = settings.hubUrl;
      hub = createHubAdminClient(settings);
      if (positionals[0] === 'console') {
        if (!positionals[1]) throw new UsageError('missing capsul id');
        return await attachConsole(hub, settings, positionals[1]);
      }
    }
    const out = await run(hub, positionals, values);
    const text = typeof out === 'string' ? out : values.json || !Array.isArray(out) ? JSON.stringify(out, null, 2) : table(out);
    process.stdout.write(`${text}\n`);
    return 0;
  } catch (err) {
    return fail(describeFailure(err, hubUrl), err instanceof UsageError);
  }
}

process.exit(await main());
