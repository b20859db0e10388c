// Every setting, validated once with zod. Code reads `env()`, never process.env. A missing or malformed value
// stops the process with a message naming it (see `loadEnv`). `.env.example` documents each variable.
import path from 'node:path';
import { z } from 'zod';
import { hostId } from './contract/ids';
import { processSingleton } from './lib/process-singleton';

const bool = z
  .enum(['1', '0', 'true', 'false', 'yes', 'no', 'on', 'off'], { message: 'must be true or false' })
  .transform((v) => ['1', 'true', 'yes', 'on'].includes(v));
const port = z.coerce.number().int().min(1).max(65535);
const ms = z.coerce.number().int().min(1).max(3_600_000);
const longMs = z.coerce.number().int().min(0).max(365 * 86_400_000);
const hours = z.coerce.number().int().min(1).max(10 * 365 * 24);
const token = z.string().min(32, 'must be at least 32 characters (use `npm run capsul -- token`)').max(512);
const httpsUrl = z.url({ protocol: /^https?$/ }).transform((u) => u.replace(/\/+$/, ''));
const file = z.string().min(1);

const schema = z
  .object({
    NODE_ENV: z.enum(['development', 'production', 'test']).default('production'),
    LOG_LEVEL: z.enum(['debug', 'info', 'warn', 'error']).default('info'),
    DATA_DIR: z.string().min(1).default('.data'),

    HUB_MODE: bool.default(true),
    SPOKE_MODE: bool.default(true),
    ALLOW_INSECURE_HTTP: bool.default(false),
    // Benchmark procedures (bench.*, admins only): timings taken inside the hub. Off in production.
    BENCH_MODE: bool.default(false),
    // Development conveniences: the /dev/mailbox page showing sign-in links when no SMTP is configured.
    DEV_MODE: bool.default(false),
    // The quick start's first image: in a combined process on libvirt, build the tiny test guest into
    // SPOKE_IMAGES_DIR and list it in the catalog when it is missing (src/quick-start-guest.ts).
    PROVIDE_TEST_GUEST: bool.default(false),

    // hub
    PORT: port.default(3000),
    BIND_ADDRESS: z.union([z.ipv4(), z.ipv6(), z.literal('localhost')]).default('0.0.0.0'),
    DATABASE_URL: z.url({ protocol: /^postgres(ql)?$/, message: 'must be a postgresql:// URL (unset: embedded PGlite)' }).optional(),
    HUB_ADMIN_TOKEN: token.optional(),
    // The hub's own secret: each host's hub token (that spoke's HUB_TOKEN) is derived from it. Every hub on one
    // database needs the same one.
    HUB_SECRET: token.optional(),
    // Upgrading from v1.0 only: the one HUB_TOKEN every spoke held then, presented to hosts from before the
    // upgrade until each has its own (docs/DEPLOYMENT.md, "Upgrading").
    HUB_SHARED_TOKEN: token.optional(),
    // How long a rotated token (HUB_TOKEN or SPOKE_HOST_TOKEN) keeps working next to the new one.
    TOKEN_ROTATION_WINDOW_MS: z.coerce.number().int().min(0).max(30 * 86_400_000).default(86_400_000),
    // The hub's address as people's browsers reach it, for links in mail. Default https://localhost:$PORT.
    PUBLIC_URL: httpsUrl.optional(),
    // Accounts (emails) that may use the admin pages, comma-separated.
    ADMIN_EMAILS: z
      .string()
      .default('')
      .transform((v) => v.split(',').map((e) => e.trim().toLowerCase()).filter(Boolean))
      .pipe(z.array(z.email({ message: 'must be a comma-separated list of email addresses' }))),
    // Mail: smtp://user:password@host:587 or smtps://…:465. Unset: nobody can sign in, unless DEV_MODE is on
    // (then sign-in links go to the hub's log and the /dev/mailbox page).
    SMTP_URL: z.url({ protocol: /^smtps?$/, message: 'must be an smtp:// or smtps:// URL' }).optional(),
    MAIL_FROM: z.string().min(3).max(200).default('Capsul <capsul@localhost>'),
    // Behind a reverse proxy: take the client address from the last X-Forwarded-For hop.
    TRUST_PROXY: bool.default(false),
    LOGIN_LINKS_PER_EMAIL: z.coerce.number().int().min(1).max(1000).default(5),
    LOGIN_LINKS_PER_ADDRESS: z.coerce.number().int().min(1).max(10000).default(20),
    SESSION_DAYS: z.coerce.number().int().min(1).max(365).default(30),
    // A console session nobody typed in for this long is closed (src/hub/console/relay.ts).
    CONSOLE_IDLE_MS: ms.default(15 * 60_000),
    HEARTBEAT_PERIOD_MS: ms.default(5000),
    ONLINE_WINDOW_MS: ms.optional(),
    SPOKE_CALL_TIMEOUT_MS: ms.default(5000),
    // A create its owner has not reported on this long after it began is checked with `get` on the owner
    // and ended (running or failed); nothing stays pending or assigned forever.
    CREATE_DEADLINE_MS: ms.default(15 * 60_000),
    // The same for a change (resize, snapshots, rebuild): its owner's silence past this ends it as failed.
    CHANGE_DEADLINE_MS: ms.default(15 * 60_000),
    // How many snapshots one capsul may keep (they take disk on its host).
    SNAPSHOTS_PER_CAPSUL: z.coerce.number().int().min(0).max(100).default(5),
    REAPER_PERIOD_MS: ms.default(10_000),
    // How often the database is compared with what the spokes list (the drift page shows the result).
    RECONCILE_PERIOD_MS: ms.default(5 * 60_000),
    // On SIGTERM, how long requests in flight (creates waiting on their offers, claims, completions) get to
    // finish while new ones are answered 503; then the hub exits. Keep it under the service's stop timeout.
    HUB_STOP_GRACE_MS: ms.default(20_000),
    // Retention (operations/retention.ts), run every RETENTION_PERIOD_MS: successful reads (list, capacity,
    // get) are kept READ_RETENTION_HOURS, drift reports RECONCILIATION_RETENTION_HOURS (the newest always).
    // Creates, destroys, power actions and failed operations are never pruned.
    RETENTION_PERIOD_MS: ms.default(10 * 60_000),
    READ_RETENTION_HOURS: hours.default(7 * 24),
    RECONCILIATION_RETENTION_HOURS: hours.default(30 * 24),
    // Usage history (src/hub/usage/): raw points from the spokes are kept USAGE_RAW_HOURS, their 5-minute
    // averages USAGE_FIVE_MINUTE_DAYS, hourly averages USAGE_HOURLY_DAYS; rolled up and pruned every
    // USAGE_ROLLUP_PERIOD_MS by the leading hub.
    USAGE_RAW_HOURS: hours.default(24),
    USAGE_FIVE_MINUTE_DAYS: z.coerce.number().int().min(1).max(3650).default(30),
    USAGE_HOURLY_DAYS: z.coerce.number().int().min(1).max(3650).default(365),
    USAGE_ROLLUP_PERIOD_MS: ms.default(60_000),

    // Billing (src/hub/billing), off unless BILLING_CURRENCY is set: prices, the ledger and what happens at
    // zero are in that one currency (ISO 4217, e.g. EUR), in its minor units.
    BILLING_CURRENCY: z.string().regex(/^[A-Z]{3}$/, 'must be a three-letter currency code such as EUR').optional(),
    // How often the leading hub charges the hours capsuls have begun, and then looks at balances.
    BILLING_METER_PERIOD_MS: ms.default(10 * 60_000),
    // A create needs a balance covering this many hours of the chosen size (0: any balance above zero… or none).
    BILLING_MIN_BALANCE_HOURS: z.coerce.number().int().min(0).max(10 * 365 * 24).default(24),
    // Mail when the balance runs out within this long; at zero, stop the account's capsuls after the stop
    // grace and delete them after the delete grace. Each in days/hours, or in ms (for tests; wins when set).
    BILLING_WARN_DAYS: z.coerce.number().int().min(0).max(365).default(7),
    BILLING_WARN_MS: longMs.optional(),
    BILLING_STOP_GRACE_HOURS: z.coerce.number().int().min(0).max(365 * 24).default(72),
    BILLING_STOP_GRACE_MS: longMs.optional(),
    BILLING_DELETE_GRACE_HOURS: z.coerce.number().int().min(0).max(365 * 24).default(14 * 24),
    BILLING_DELETE_GRACE_MS: longMs.optional(),
    // The open books: a public page (/open-books) of the fleet's monthly costs, as admins enter them, against
    // the month's income (payments less refunds), for a co-op that runs in the open. Needs BILLING_CURRENCY.
    BILLING_PUBLIC_BOOKS: bool.default(false),

    // Payment rails (src/hub/billing/providers): each is on only when all of its variables are set.
    // Stripe Checkout: the secret (or restricted) key and the webhook endpoint's signing secret.
    STRIPE_SECRET_KEY: z.string().regex(/^(sk|rk)_[A-Za-z0-9_]{8,}$/, 'must be a Stripe secret key (sk_live_…, sk_test_… or rk_…)').optional(),
    STRIPE_WEBHOOK_SECRET: z.string().regex(/^whsec_[A-Za-z0-9+/=]{8,}$/, "must be the webhook endpoint's signing secret (whsec_…)").optional(),
    // Where the Stripe API is: the real one, or a stand-in (tests).
    STRIPE_API_BASE: httpsUrl.default('https://api.stripe.com'),
    // The SDK retries a failed call with the same idempotency key this many times (its default, 2).
    STRIPE_MAX_NETWORK_RETRIES: z.coerce.number().int().min(0).max(5).default(2),
    // BTCPay Server (Greenfield API): the server's base URL, an API key with the store's invoice permissions,
    // the store's id, and the secret of the store's webhook pointing at /api/billing/btcpay/webhook.
    BTCPAY_URL: httpsUrl.optional(),
    BTCPAY_API_KEY: z.string().regex(/^\S{16,200}$/, 'must be a Greenfield API key').optional(),
    BTCPAY_STORE_ID: z.string().regex(/^[A-Za-z0-9_-]{8,100}$/, "must be the store's id (Store settings → General)").optional(),
    BTCPAY_WEBHOOK_SECRET: z.string().min(12, 'must be at least 12 characters').max(512).optional(),
    // The smallest and largest top-up a person may ask for, in minor units of the billing currency.
    TOP_UP_MIN_MINOR: z.coerce.number().int().min(1).max(1_000_000_000).default(100),
    TOP_UP_MAX_MINOR: z.coerce.number().int().min(1).max(1_000_000_000).default(100_000),

    // both
    // Prometheus: /metrics on the HTTPS port for callers with this bearer token; and/or plain HTTP, no token,
    // on METRICS_ADDRESS (host:port, keep it private, e.g. 127.0.0.1:9464).
    METRICS_TOKEN: token.optional(),
    METRICS_ADDRESS: z.string().regex(/^(\[[0-9a-fA-F:]+\]|[\w.-]+):\d{1,5}$/, 'must be host:port').optional(),
    TLS_CERT_FILE: file.optional(),
    TLS_KEY_FILE: file.optional(),
    TLS_CA_FILE: file.optional(),
    // The key of TLS_CA_FILE, on the hub only: lets `capsul host join` sign new spokes' certificates. Not
    // needed with the generated local CA (its key is under DATA_DIR/tls).
    TLS_CA_KEY_FILE: file.optional(),

    // spoke
    HUB_URL: httpsUrl.optional(),
    // This spoke's own token: the only one it accepts from the hub (the hub derives it from HUB_SECRET).
    HUB_TOKEN: token.optional(),
    SPOKE_HOST_ID: hostId.optional(),
    SPOKE_HOST_TOKEN: token.optional(),
    SPOKE_URL: httpsUrl.optional(),
    SPOKE_PORT: port.default(8443),
    SPOKE_BIND_ADDRESS: z.union([z.ipv4(), z.ipv6(), z.literal('localhost')]).default('0.0.0.0'),
    SPOKE_DRIVER: z.enum(['auto', 'libvirt', 'fake']).default('auto'),
    // Mutual TLS: the spoke accepts only callers with a certificate from TLS_CA_FILE (the hub presents its own).
    SPOKE_REQUIRE_CLIENT_CERT: bool.default(false),
    SPOKE_STATE_DIR: z.string().min(1).optional(),
    HUB_CALL_TIMEOUT_MS: ms.default(10000),
    // On SIGTERM, how long builds in progress get to finish (and their completions to be delivered) before the
    // spoke exits; what is left is finished by the next start. Keep it under the service's stop timeout.
    SPOKE_STOP_GRACE_MS: ms.default(20_000),

    // libvirt driver
    LIBVIRT_URI: z.string().regex(/^[a-z+]+:\/\/[^\s]*$/, 'must be a libvirt URI such as qemu:///system').default('qemu:///system'),
    // Where capsuls' NICs go: a libvirt network (default: `default`, NAT; a routed one for public addresses)…
    LIBVIRT_NETWORK: z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/, 'must be a libvirt network name').optional(),
    // …or a bridge on the host (e.g. br0, bridged to the public network). One or the other.
    LIBVIRT_BRIDGE: z.string().regex(/^[A-Za-z0-9_.-]{1,15}$/, 'must be a network interface name such as br0').optional(),
    // qemu (software emulation) works everywhere; set kvm on hosts with hardware virtualization.
    LIBVIRT_DOMAIN_TYPE: z.enum(['qemu', 'kvm']).default('qemu'),
    SPOKE_IMAGES_DIR: z.string().min(1).optional(),
    SPOKE_DISKS_DIR: z.string().min(1).optional(),
    SPOKE_MEMORY_RESERVE_MB: z.coerce.number().int().min(0).default(1024),
    SPOKE_DISK_RESERVE_GB: z.coerce.number().int().min(0).default(5),
    SPOKE_READY_TIMEOUT_MS: ms.default(180_000),
    // How often the spoke samples its capsuls' and its own usage (one virsh domstats) and sends it to the hub.
    USAGE_SAMPLE_PERIOD_MS: z.coerce.number().int().min(200).max(3_600_000).default(15_000),

    // fake driver
    FAKE_MEMORY_MB: z.coerce.number().int().min(0).default(16384),
    FAKE_DISK_GB: z.coerce.number().int().min(0).default(500),
    FAKE_CREATE_MS: z.coerce.number().int().min(0).max(600_000).default(300),
    FAKE_IMAGES: z
      .string()
      .regex(/^[a-z0-9._,-]*$/, 'must be a comma-separated list of image ids')
      .default('*'),
  })
  .superRefine((e, ctx) => {
    const need = (key: keyof typeof e, why: string) => {
      if (e[key] === undefined) ctx.addIssue({ code: 'custom', path: [key], message: `is required ${why}` });
    };
    const tls = [e.TLS_CERT_FILE, e.TLS_KEY_FILE].filter(Boolean).length;
    if (tls === 1) ctx.addIssue({ code: 'custom', path: [e.TLS_CERT_FILE ? 'TLS_KEY_FILE' : 'TLS_CERT_FILE'], message: 'is required with the other TLS file' });
    if (e.SPOKE_REQUIRE_CLIENT_CERT && !e.TLS_CA_FILE && e.TLS_CERT_FILE) {
      ctx.addIssue({ code: 'custom', path: ['TLS_CA_FILE'], message: 'is required with SPOKE_REQUIRE_CLIENT_CERT (the CA client certificates must come from)' });
    }
    if (!e.HUB_MODE && !e.SPOKE_MODE) ctx.addIssue({ code: 'custom', path: ['HUB_MODE'], message: 'HUB_MODE and SPOKE_MODE are both off: nothing to run' });
    // In the combined quick-start process the hub fills in what its local spoke needs (src/bootstrap.ts);
    // a spoke on its own must be told.
    if (e.SPOKE_MODE && !e.HUB_MODE) {
      for (const key of ['HUB_URL', 'HUB_TOKEN', 'SPOKE_HOST_ID', 'SPOKE_HOST_TOKEN'] as const) need(key, 'when SPOKE_MODE is on and HUB_MODE is off');
    }
    // Since v1.1 HUB_TOKEN is a spoke's own; a hub derives each host's from HUB_SECRET instead.
    if (e.HUB_MODE && !e.SPOKE_MODE && e.HUB_TOKEN) {
      ctx.addIssue({ code: 'custom', path: ['HUB_TOKEN'], message: 'is a spoke\'s own token since v1.1, not a hub\'s: when upgrading, rename it HUB_SHARED_TOKEN (docs/DEPLOYMENT.md, "Upgrading")' });
    }
    const stopMs = e.BILLING_STOP_GRACE_MS ?? e.BILLING_STOP_GRACE_HOURS * 3_600_000;
    const deleteMs = e.BILLING_DELETE_GRACE_MS ?? e.BILLING_DELETE_GRACE_HOURS * 3_600_000;
    if (e.BILLING_CURRENCY && deleteMs < stopMs) {
      ctx.addIssue({ code: 'custom', path: ['BILLING_DELETE_GRACE_HOURS'], message: 'is shorter than the stop grace: capsuls are stopped first, then deleted' });
    }
    if (e.LIBVIRT_NETWORK && e.LIBVIRT_BRIDGE) {
      ctx.addIssue({ code: 'custom', path: ['LIBVIRT_BRIDGE'], message: 'and LIBVIRT_NETWORK are both set: capsuls attach to one or the other, set only one' });
    }
    // A rail half configured is a mistake, not a rail that is off.
    const rails = { Stripe: ['STRIPE_SECRET_KEY', 'STRIPE_WEBHOOK_SECRET'], BTCPay: ['BTCPAY_URL', 'BTCPAY_API_KEY', 'BTCPAY_STORE_ID', 'BTCPAY_WEBHOOK_SECRET'] } as const;
    for (const [rail, keys] of Object.entries(rails)) {
      const set = keys.filter((k) => e[k] !== undefined);
      if (set.length > 0 && set.length < keys.length) {
        for (const key of keys.filter((k) => e[k] === undefined)) need(key, `for ${rail} payments (${set.join(', ')} ${set.length === 1 ? 'is' : 'are'} set)`);
      }
      if (set.length === keys.length) need('BILLING_CURRENCY', `for ${rail} payments (the currency top-ups are asked and credited in)`);
    }
    // Open books without billing would be a page of costs against no income: a mistake, said at start.
    if (e.BILLING_PUBLIC_BOOKS) need('BILLING_CURRENCY', 'for BILLING_PUBLIC_BOOKS (costs and income are in that currency)');
    if (e.TOP_UP_MIN_MINOR > e.TOP_UP_MAX_MINOR) ctx.addIssue({ code: 'custom', path: ['TOP_UP_MIN_MINOR'], message: 'is larger than TOP_UP_MAX_MINOR' });
    for (const key of ['HUB_URL', 'SPOKE_URL', 'STRIPE_API_BASE', 'BTCPAY_URL'] as const) {
      if (e[key]?.startsWith('http://') && !e.ALLOW_INSECURE_HTTP) {
        ctx.addIssue({ code: 'custom', path: [key], message: 'must be https:// (plain http only with ALLOW_INSECURE_HTTP=true, for development)' });
      }
    }
  });

export type Env = z.infer<typeof schema> & {
  PUBLIC_URL: string;
  ONLINE_WINDOW_MS: number;
  SPOKE_STATE_DIR: string;
  SPOKE_IMAGES_DIR: string;
  SPOKE_DISKS_DIR: string;
  DATA_DIR: string;
};

export class EnvError extends Error {}

/** Parses an environment; throws EnvError naming each bad variable. */
export function parseEnv(source: NodeJS.ProcessEnv): Env {
  // An empty variable counts as unset, as in most .env tooling.
  const cleaned = Object.fromEntries(Object.entries(source).filter(([, v]) => v !== undefined && v !== ''));
  const result = schema.safeParse(cleaned);
  if (!result.success) {
    const lines = result.error.issues.map((i) => `  ${i.path.join('.') || '(environment)'}: ${i.message}`);
    throw new EnvError(`invalid configuration:\n${lines.join('\n')}`);
  }
  const e = result.data;
  const dataDir = path.resolve(/*turbopackIgnore: true*/ e.DATA_DIR);
  return {
    ...e,
    DATA_DIR: dataDir,
    PUBLIC_URL: e.PUBLIC_URL ?? `https://localhost:${e.PORT}`,
    ONLINE_WINDOW_MS: e.ONLINE_WINDOW_MS ?? e.HEARTBEAT_PERIOD_MS * 3,
    SPOKE_STATE_DIR: path.resolve(/*turbopackIgnore: true*/ e.SPOKE_STATE_DIR ?? path.join(dataDir, 'spoke')),
    SPOKE_IMAGES_DIR: path.resolve(/*turbopackIgnore: true*/ e.SPOKE_IMAGES_DIR ?? path.join(dataDir, 'images')),
    SPOKE_DISKS_DIR: path.resolve(/*turbopackIgnore: true*/ e.SPOKE_DISKS_DIR ?? path.join(dataDir, 'disks')),
  };
}

const cache = processSingleton('env', () => ({ current: undefined as Env | undefined }));

/** The process's configuration, parsed on first use (module load would run during `next build`). */
export function env(): Env {
  cache.current ??= parseEnv(process.env);
  return cache.current;
}

/** Re-reads process.env: for the start-up code that fills in quick-start defaults. */
export function reloadEnv(): Env {
  cache.current = parseEnv(process.env);
  return cache.current;
}
