// Hosts (spokes) as the operator manages them. A new host's two tokens (the one its spoke presents to the hub,
// and the hub token the hub presents to it) are made here and returned once; so are rotated ones.
import { TRPCError } from '@trpc/server';
import type { Prisma } from '~/generated/prisma/client';
import { z } from 'zod';
import { hostId } from '~/contract/ids';
import { env } from '~/env';
import type { Db } from '../db/client';
import { HOST_TOKEN_COLUMNS, HUB_TOKEN_COLUMNS, hostTokenRotation, hostTokenState, hubTokenRotation, hubTokenState, newHostCredentials } from '../host-tokens';
import { fieldError } from '~/lib/trpc-errors';
import { hostUrl } from '../host-url';
import { isLoopbackUrl } from '~/lib/loopback';
import { hubCaPem, spokeCertificate, spokeEnvFile } from '../join';
import { hostsChanged, isOnline, onlineSince } from '../operations/hosts';
import { adminProcedure, router } from '../trpc';

// How long a rotated token keeps working next to the new one, when the default (TOKEN_ROTATION_WINDOW_MS) will not do.
const windowMs = z.number().int().min(0).max(30 * 86_400_000).optional();

export const hostRouter = router({
  list: adminProcedure.query(async ({ ctx }) => {
    const since = onlineSince();
    const hosts = await ctx.db.host.findMany({
      where: { removedAt: null },
      orderBy: { id: 'asc' },
      select: {
        id: true,
        httpsUrl: true,
        driver: true,
        lastHealthCheck: true,
        lastError: true,
        freeMemoryMb: true,
        freeDiskGb: true,
        createdAt: true,
        previousTokenHash: true,
        previousTokenUntil: true,
        previousHubTokenSalt: true,
        previousHubTokenUntil: true,
        _count: { select: { capsuls: { where: { deletedAt: null } } } },
      },
    });
    return hosts.map(({ _count, previousTokenHash, previousTokenUntil, previousHubTokenSalt, previousHubTokenUntil, ...h }) => ({
      ...h,
      capsuls: _count.capsuls,
      online: isOnline(h, since),
      hostToken: hostTokenState({ previousTokenHash, previousTokenUntil }),
      hubToken: hubTokenState({ previousHubTokenSalt, previousHubTokenUntil }),
    }));
  }),

  /** A new host and its two tokens, with what else its spoke needs: the hub's URL and the CA to check it by. */
  add: adminProcedure.input(z.object({ id: hostId, httpsUrl: hostUrl })).mutation(async ({ ctx, input }) => {
    const added = await addHost(ctx.db, input.id, input.httpsUrl);
    const hubUrl = env().PUBLIC_URL;
    return { ...added, hubUrl, hubUrlIsLoopback: isLoopbackUrl(hubUrl), ca: await hubCaPem() };
  }),

  /** A new spoke in one step: the host, its token, its certificate, and the environment to give it. */
  join: adminProcedure
    .input(
      z.object({
        id: hostId,
        address: z.union([z.ipv4(), z.ipv6(), z.hostname().max(253)], { message: 'must be an IP address or a host name' }),
        port: z.number().int().min(1).max(65535).default(8443),
        hubUrl: hostUrl.optional(),
      }),
    )
    .mutation(async ({ ctx, input }) => {
      const host = input.address.includes(':') ? `[${input.address}]` : input.address;
      const spokeUrl = `https://${host}:${input.port}`;
      const tls = await spokeCertificate(input.address);
      const added = await addHost(ctx.db, input.id, spokeUrl);
      const hubUrl = input.hubUrl ?? env().PUBLIC_URL;
      return {
        id: added.id,
        httpsUrl: spokeUrl,
        hubUrl,
        signed: !!tls,
        envFile: spokeEnvFile({ hubUrl, hubToken: added.hubToken, hostId: added.id, hostToken: added.token, port: input.port, spokeUrl, tls }),
      };
    }),

  /** A new URL, and/or a new SPOKE_HOST_TOKEN (rotateToken): the previous token is accepted for `windowMs` more
   * (default TOKEN_ROTATION_WINDOW_MS; 0: refused at once), or until the spoke presents the new one. */
  update: adminProcedure
    .input(z.object({ id: hostId, httpsUrl: hostUrl.optional(), rotateToken: z.boolean().default(false), windowMs }))
    .mutation(async ({ ctx, input }) => {
      const host = await liveHost(ctx.db, input.id, HOST_TOKEN_COLUMNS);
      const rotation = input.rotateToken ? hostTokenRotation(host, input.windowMs ?? env().TOKEN_ROTATION_WINDOW_MS) : undefined;
      await changeHost(ctx.db, input.id, { tokenHash: host.tokenHash }, { ...(input.httpsUrl ? { httpsUrl: input.httpsUrl } : {}), ...rotation?.data });
      return { id: input.id, token: rotation?.token, previous: rotation?.previous ?? null };
    }),

  /** A new hub token for a host (its spoke's HUB_TOKEN). The hub presents the new one and, while the spoke still
   * refuses it, the previous one for `windowMs` more (default TOKEN_ROTATION_WINDOW_MS; 0: not at all), until a
   * call with the new one succeeds. */
  rotateHubToken: adminProcedure.input(z.object({ id: hostId, windowMs })).mutation(async ({ ctx, input }) => {
    const host = await liveHost(ctx.db, input.id, HUB_TOKEN_COLUMNS);
    const rotation = hubTokenRotation(host, input.windowMs ?? env().TOKEN_ROTATION_WINDOW_MS);
    await changeHost(ctx.db, input.id, { hubTokenSalt: host.hubTokenSalt }, rotation.data);
    return { id: input.id, hubToken: rotation.hubToken, previous: rotation.previous };
  }),

  remove: adminProcedure.input(z.object({ id: hostId })).mutation(async ({ ctx, input }) => {
    const live = await ctx.db.capsul.count({ where: { hostId: input.id, deletedAt: null } });
    if (live > 0) {
      throw new TRPCError({ code: 'PRECONDITION_FAILED', message: `host ${input.id} still has ${live} capsul(s); destroy them first` });
    }
    const removed = await ctx.db.host.updateMany({ where: { id: input.id, removedAt: null }, data: { removedAt: new Date() } });
    if (removed.count === 0) throw new TRPCError({ code: 'NOT_FOUND', message: `no host ${input.id}` });
    hostsChanged();
    return { removed: true as const };
  }),
});

async function addHost(db: Db, id: string, httpsUrl: string) {
  const clash = await db.host.findFirst({ where: { OR: [{ id }, { httpsUrl, removedAt: null }] } });
  if (clash) {
    if (clash.id !== id) throw fieldError('httpsUrl', `host ${clash.id} has that URL already`, 'CONFLICT');
    throw fieldError(
      'id',
      clash.removedAt ? `${id} belonged to a host removed on ${clash.removedAt.toISOString()}; pick another id` : `there is a host ${id} already; pick another id`,
      'CONFLICT',
    );
  }
  const credentials = newHostCredentials(id);
  await db.host.create({ data: { id, httpsUrl, ...credentials.data } });
  hostsChanged();
  return { id, httpsUrl, token: credentials.token, hubToken: credentials.hubToken };
}


async function liveHost<S extends Record<string, true>>(db: Db, id: string, select: S) {
  const host = await db.host.findFirst({ where: { id, removedAt: null }, select });
  if (!host) throw new TRPCError({ code: 'NOT_FOUND', message: `no host ${id}` });
  return host;
}

/** Writes a change computed from the host's tokens as they were read: a change made meanwhile wins, and this one
 * is refused rather than overwriting it. */
async function changeHost(db: Db, id: string, asRead: { tokenHash?: string; hubTokenSalt?: string }, data: Prisma.HostUpdateManyMutationInput) {
  const updated = await db.host.updateMany({ where: { id, removedAt: null, ...asRead }, data });
  if (updated.count === 0) throw new TRPCError({ code: 'CONFLICT', message: `host ${id} changed meanwhile (or was removed); try again` });
  hostsChanged();
}
