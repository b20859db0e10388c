// Timings taken inside the hub, for scripts/bench (BENCH_MODE only): the operations module against a bare
// tRPC client on the same connections, and a create from its start to `assigned` against its floor (the same
// round trips made bare, one database write). Samples in milliseconds.
import { TRPCError } from '@trpc/server';
import { createTRPCClient, httpLink, type TRPCClient } from '@trpc/client';
import superjson from 'superjson';
import { z } from 'zod';
import { catalogId } from '~/contract/ids';
import { env } from '~/env';
import type { SpokeRouter } from '~/spoke/router';
import { ensureAccount } from '../accounts';
import { findImage, findSize } from '../catalog';
import { NO_LIMITS } from '../limits';
import { createCapsul, fleetCapacity, listFleet, onlineHosts } from '../operations';
import { recordsWritten } from '../operations/record';
import { spokeClientSettings } from '../spoke-client';
import { adminProcedure, router } from '../trpc';

const benchProcedure = adminProcedure.use(({ next }) => {
  if (!env().BENCH_MODE) throw new TRPCError({ code: 'FORBIDDEN', message: 'bench mode is off (BENCH_MODE)' });
  return next();
});

const iterations = z.number().int().min(1).max(10_000);

/** A plain tRPC client per spoke, on the same fetch (the same keep-alive pool and TLS settings) as the hub's,
 * presenting each host's current hub token. */
function bareClients(hosts: { id: string; httpsUrl: string }[]): TRPCClient<SpokeRouter>[] {
  const { fetch, hubTokens } = spokeClientSettings();
  return hosts.map((host) =>
    createTRPCClient<SpokeRouter>({
      links: [
        httpLink({
          url: `${host.httpsUrl}/trpc`,
          transformer: superjson,
          fetch,
          headers: async () => ({ authorization: `Bearer ${(await hubTokens(host.id)).current}` }),
        }),
      ],
    }),
  );
}

async function time(work: () => Promise<unknown>): Promise<number> {
  const started = performance.now();
  await work();
  return performance.now() - started;
}

export const benchRouter = router({
  /** The operations module's fan-out against a bare parallel client, interleaved. */
  fanOut: benchProcedure
    .input(z.object({ kind: z.enum(['list', 'capacityAvailable']), iterations, warmup: z.number().int().min(0).max(1000).default(10) }))
    .mutation(async ({ ctx, input }) => {
      const hosts = await onlineHosts(ctx.db);
      const bare = bareClients(hosts);
      const request = { memoryMb: 512, diskGb: 10 };
      // The module's record of each call is written after its answer; it is waited for, untimed, so that it
      // loads neither the next call nor the bare client's.
      const viaModule = async () => {
        const ms = await time(() => (input.kind === 'list' ? listFleet(ctx.db, 'bench') : fleetCapacity(ctx.db, 'bench', request)));
        await recordsWritten();
        return ms;
      };
      // The bare client gets the same per-host deadline the operations module uses.
      const viaBare = () =>
        Promise.all(
          bare.map((c) => {
            const o = { signal: AbortSignal.timeout(env().SPOKE_CALL_TIMEOUT_MS) };
            return (input.kind === 'list' ? c.list.query(undefined, o) : c.capacityAvailable.query(request, o)).catch(() => null);
          }),
        );
      const viaModuleMs: number[] = [];
      const floor: number[] = [];
      for (let i = 0; i < input.warmup + input.iterations; i++) {
        // Alternate which goes first, so neither always gets the warmer connections.
        let m: number;
        let f: number;
        if (i % 2) {
          m = await viaModule();
          f = await time(viaBare);
        } else {
          f = await time(viaBare);
          m = await viaModule();
        }
        if (i >= input.warmup) {
          viaModuleMs.push(m);
          floor.push(f);
        }
      }
      return { hosts: hosts.length, module: viaModuleMs, floor };
    }),

  /**
   * A create from its start to `assigned`, interleaved with its floor: the protocol's own nested round trip
   * made bare (the hub calls every online spoke's `heartbeat`, in parallel; each spoke calls the hub's
   * `spoke.heartbeat`, which writes one row, and answers), which is an offer round trip plus a claim round
   * trip, plus one more database write (the create's rows). Which goes first alternates. Each create waits,
   * untimed, for its spoke to complete it, so no build loads the next measurement.
   */
  create: benchProcedure.input(z.object({ iterations, warmup: z.number().int().min(0).max(1000).default(10), size: catalogId.default('nano') })).mutation(async ({ ctx, input }) => {
    const hosts = await onlineHosts(ctx.db);
    if (hosts.length === 0) throw new TRPCError({ code: 'PRECONDITION_FAILED', message: 'no host online' });
    const bare = bareClients(hosts);
    const owner = await ensureAccount(ctx.db, 'bench@example.com');
    const size = await findSize(ctx.db, input.size);
    const image = await findImage(ctx.db, 'debian-12');
    // The bench account's creates are timed without limits (they measure the create, not the lock).
    const request = { ownerId: owner.id, vcpus: size.vcpus, memoryMb: size.memoryMb, diskGb: size.diskGb, image, sshAuthorizedKeys: [], limits: NO_LIMITS, bySize: true };

    const roundTrips = () => time(() => Promise.all(bare.map((c) => c.heartbeat.mutate())));
    const write = () => time(() => ctx.db.$executeRaw`UPDATE "Host" SET "updatedAt" = "updatedAt" WHERE id = ${hosts[0]!.id}`);
    const create = async () => {
      let operationId = '';
      const ms = await time(async () => ({ operationId } = await createCapsul(ctx.db, 'bench', request)));
      const deadline = Date.now() + 30_000;
      while ((await ctx.db.operation.findUniqueOrThrow({ where: { id: operationId }, select: { state: true } })).state === 'assigned') {
        if (Date.now() > deadline) throw new TRPCError({ code: 'TIMEOUT', message: `create ${operationId} was not completed within 30 s` });
        await new Promise((r) => setTimeout(r, 10));
      }
      await recordsWritten();
      return ms;
    };

    const samples = { creates: [] as number[], roundTrips: [] as number[], write: [] as number[] };
    for (let i = 0; i < input.warmup + input.iterations; i++) {
      let c: number;
      let r: number;
      let w: number;
      if (i % 2) {
        c = await create();
        r = await roundTrips();
        w = await write();
      } else {
        r = await roundTrips();
        w = await write();
        c = await create();
      }
      if (i < input.warmup) continue;
      samples.creates.push(c);
      samples.roundTrips.push(r);
      samples.write.push(w);
    }
    return { hosts: hosts.length, ...samples };
  }),
});
