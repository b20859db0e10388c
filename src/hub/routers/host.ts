// Hosts (spokes) as the operator manages them. A new host's token is generated here and returned once.
import { TRPCError } from '@trpc/server';
import { z } from 'zod';
import { hostId } from '~/contract/ids';
import { hashToken, newToken } from '~/lib/tokens';
import { env } from '~/env';
import type { Db } from '../db/client';
import { hostUrl } from '../host-url';
import { spokeCertificate, spokeEnvFile } from '../join';
import { hostsChanged, isOnline, onlineSince } from '../operations/hosts';
import { adminProcedure, router } from '../trpc';

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
        _count: { select: { capsuls: { where: { deletedAt: null } } } },
      },
    });
    return hosts.map(({ _count, ...h }) => ({
      ...h,
      capsuls: _count.capsuls,
      online: isOnline(h, since),
    }));
  }),

  add: adminProcedure.input(z.object({ id: hostId, httpsUrl: hostUrl })).mutation(({ ctx, input }) => addHost(ctx.db, input.id, input.httpsUrl)),

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
      const e = env();
      return {
        id: added.id,
        httpsUrl: spokeUrl,
        signed: !!tls,
        envFile: spokeEnvFile({ hubUrl: input.hubUrl ?? e.PUBLIC_URL, hubToken: e.HUB_TOKEN!, hostId: added.id, hostToken: added.token, port: input.port, spokeUrl, tls }),
      };
    }),

  update: adminProcedure
    .input(z.object({ id: hostId, httpsUrl: hostUrl.optional(), rotateToken: z.boolean().default(false) }))
    .mutation(async ({ ctx, input }) => {
      const token = input.rotateToken ? newToken() : undefined;
      const updated = await ctx.db.host.updateMany({
        where: { id: input.id, removedAt: null },
        data: { ...(input.httpsUrl ? { httpsUrl: input.httpsUrl } : {}), ...(token ? { tokenHash: hashToken(token) } : {}) },
      });
      if (updated.count === 0) throw new TRPCError({ code: 'NOT_FOUND', message: `no host ${input.id}` });
      hostsChanged();
      return { id: input.id, token };
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
    const message =
      clash.id !== id
        ? `httpsUrl: host ${clash.id} has that URL`
        : clash.removedAt
          ? `id: ${id} belonged to a host removed on ${clash.removedAt.toISOString()}; pick another id`
          : `id: host ${id} exists`;
    throw new TRPCError({ code: 'CONFLICT', message });
  }
  const token = newToken();
  await db.host.create({ data: { id, httpsUrl, tokenHash: hashToken(token) } });
  hostsChanged();
  return { id, httpsUrl, token };
}
