// A spoke written from PROTOCOL.md alone, running in the test process, whose answers each test scripts. It is
// a real HTTPS tRPC server (tRPC's standalone adapter, superjson, base path /trpc) that refuses any caller
// without `Authorization: Bearer <HUB_TOKEN>`, and it calls the hub's `spoke.*` procedures with its own host
// id and token, as any spoke does. It checks nothing the hub sends and answers whatever its script says, so a
// test can make it answer like a correct spoke, a careless one or a hostile one. Every call the hub makes is
// kept in `calls`.
import https from 'node:https';
import { readFileSync } from 'node:fs';
import { initTRPC, TRPCError } from '@trpc/server';
import { createHTTPHandler } from '@trpc/server/adapters/standalone';
import superjson from 'superjson';
import { z } from 'zod';
import type { CompletionResult } from '~/contract/hub';
import { httpsFetch } from '~/lib/https-fetch';
import { bearerToken, tokenMatches } from '~/lib/tokens';
import { createHubClient, type HubClient } from '~/spoke/hub-client';
import { freePort, type Hub } from './processes';
import type { TestTls } from './tls';

export type SpokeProcedure = 'heartbeat' | 'capacityAvailable' | 'list' | 'get' | 'vmState' | 'destroy' | 'create';

/** One call the hub made: which procedure, its input as sent, and the operation id header when there was one. */
export type ReceivedCall = { procedure: SpokeProcedure; input: unknown; operationId?: string; at: number };

/** The create payload as the hub offers it (only what the scripts read). */
export type Offer = { operationId: string; id: string } & Record<string, unknown>;

/** What the spoke does for each procedure. Each may call the hub through `spoke` first, or throw a TRPCError. */
export type Script = {
  heartbeat: (spoke: ScriptedSpoke) => Promise<unknown>;
  create: (offer: Offer, spoke: ScriptedSpoke) => Promise<unknown>;
  destroy: (input: { id: string }, spoke: ScriptedSpoke) => Promise<unknown>;
  list: (spoke: ScriptedSpoke) => Promise<unknown>;
  get: (input: { id: string }, spoke: ScriptedSpoke) => Promise<unknown>;
  capacityAvailable: (input: unknown, spoke: ScriptedSpoke) => Promise<unknown>;
  vmState: (input: unknown, spoke: ScriptedSpoke) => Promise<unknown>;
};

/**
 * A spoke that keeps to the protocol and takes no work: its heartbeat calls the hub's `spoke.heartbeat` (no
 * input: the protocol names none) and answers exactly `{ ok: true }`; it turns every create down; it has
 * no VMs, and destroying one it does not have succeeds (destroy is idempotent).
 */
export const POLITE: Script = {
  heartbeat: async (spoke) => {
    await spoke.hub.spoke.heartbeat.mutate();
    return { ok: true };
  },
  create: async () => ({ assignmentStatus: 'not_applicable', reason: 'this scripted spoke takes no creates' }),
  destroy: async () => ({ destroyed: true }),
  list: async () => ({ capsuls: [] }),
  get: async () => null,
  capacityAvailable: async () => ({ available: false, freeMemoryMb: 0, freeDiskGb: 0 }),
  vmState: async () => {
    throw new TRPCError({ code: 'NOT_FOUND', message: 'no such capsul on this scripted spoke' });
  },
};

type Context = { operationId?: string };

export class ScriptedSpoke {
  readonly calls: ReceivedCall[] = [];
  script: Script = { ...POLITE };
  hub!: HubClient;
  hostToken!: string;
  /** This host's own hub token (HUB_TOKEN), as host.add returned it. */
  hubToken!: string;
  private server!: https.Server;

  private constructor(
    readonly hostId: string,
    readonly url: string,
  ) {}

  /**
   * Listens on 127.0.0.1 and registers itself on the hub (`host.add`, as an operator adds a spoke). `hubUrl`
   * is where it calls back; by default the hub it is registered on.
   */
  static async start(opts: { hub: Hub; hostId: string; tls: TestTls; hubUrl?: string }): Promise<ScriptedSpoke> {
    const port = await freePort();
    const spoke = new ScriptedSpoke(opts.hostId, `https://127.0.0.1:${port}`);
    const handler = createHTTPHandler({
      router: scriptedRouter(spoke),
      basePath: '/trpc/',
      createContext: ({ req }): Context => {
        const token = bearerToken(req.headers.authorization);
        if (!token || !tokenMatches(token, spoke.hubToken)) throw new TRPCError({ code: 'UNAUTHORIZED', message: 'missing or wrong hub token' });
        const operationId = req.headers['x-capsul-operation-id'];
        return { operationId: typeof operationId === 'string' ? operationId : undefined };
      },
    });
    const tlsFiles = { cert: readFileSync(opts.tls.certFile), key: readFileSync(opts.tls.keyFile) };
    spoke.server = https.createServer(tlsFiles, (req, res) => {
      if (!spoke.hostToken) {
        // Not registered yet: the hub cannot know this host, and nothing here can call it back.
        res.writeHead(503, { 'content-type': 'text/plain' }).end('starting\n');
        return;
      }
      handler(req, res);
    });
    await new Promise<void>((resolve, reject) => {
      spoke.server.once('error', reject);
      spoke.server.listen(port, '127.0.0.1', () => resolve());
    });
    const { token, hubToken } = await opts.hub.admin.host.add.mutate({ id: opts.hostId, httpsUrl: spoke.url });
    spoke.hubToken = hubToken;
    spoke.hub = createHubClient({
      hubUrl: opts.hubUrl ?? opts.hub.url,
      hostId: opts.hostId,
      hostToken: token,
      fetch: httpsFetch({ ca: readFileSync(opts.tls.caFile) }),
      timeoutMs: 5000,
    });
    spoke.hostToken = token;
    return spoke;
  }

  /** The calls received for one procedure. */
  received(procedure: SpokeProcedure): ReceivedCall[] {
    return this.calls.filter((c) => c.procedure === procedure);
  }

  /** Back to the polite script for the next test. */
  reset(): void {
    this.script = { ...POLITE };
  }

  /** `spoke.claimOperation` with this host's credentials. */
  claim(operationId: string) {
    return this.hub.spoke.claimOperation.mutate({ operationId });
  }

  /** `spoke.completeOperation` with this host's credentials. */
  complete(operationId: string, result: CompletionResult) {
    return this.hub.spoke.completeOperation.mutate({ operationId, result });
  }

  async close(): Promise<void> {
    this.server.close();
    this.server.closeAllConnections();
  }

  /** Keeps the call, then answers with the script. */
  async answer(procedure: SpokeProcedure, ctx: Context, input: unknown, work: () => Promise<unknown>): Promise<unknown> {
    this.calls.push({ procedure, input, operationId: ctx.operationId, at: Date.now() });
    return work();
  }
}

// What the hub sends is taken as it comes: this spoke is the protocol's other side, not a second validator.
const anything = z.unknown();
const withId = z.object({ id: z.string() }).passthrough();
const offer = z.object({ operationId: z.string(), id: z.string() }).passthrough();

function scriptedRouter(spoke: ScriptedSpoke) {
  const t = initTRPC.context<Context>().create({ transformer: superjson });
  const answer = (procedure: SpokeProcedure, ctx: Context, input: unknown, work: (s: ScriptedSpoke) => Promise<unknown>) =>
    spoke.answer(procedure, ctx, input, () => work(spoke));
  return t.router({
    heartbeat: t.procedure.mutation(({ ctx }) => answer('heartbeat', ctx, undefined, (s) => s.script.heartbeat(s))),
    capacityAvailable: t.procedure.input(anything).query(({ ctx, input }) => answer('capacityAvailable', ctx, input, (s) => s.script.capacityAvailable(input, s))),
    list: t.procedure.query(({ ctx }) => answer('list', ctx, undefined, (s) => s.script.list(s))),
    get: t.procedure.input(withId).query(({ ctx, input }) => answer('get', ctx, input, (s) => s.script.get(input, s))),
    vmState: t.procedure.input(anything).mutation(({ ctx, input }) => answer('vmState', ctx, input, (s) => s.script.vmState(input, s))),
    destroy: t.procedure.input(withId).mutation(({ ctx, input }) => answer('destroy', ctx, input, (s) => s.script.destroy(input, s))),
    create: t.procedure.input(offer).mutation(({ ctx, input }) => answer('create', ctx, input, (s) => s.script.create(input, s))),
  });
}
