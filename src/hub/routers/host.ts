// Hosts (spokes) as the operator manages them. A new host's token is generated here and returned once.
import { TRPCError } from '@trpc/server';
import { z } from 'zod';
import { hostId } from '~/contract/ids';
import { hashToken, newToken } from '~/lib/tokens';
import { hostUrl } from '../host-url';
import { onlineSince } from '../operations';
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
      online: !!h.lastHealthCheck && h.lastHealthCheck >= since,
    }));
  }),

  add: adminProcedure.input(z.object({ id: hostId, httpsUrl: hostUrl })).mutation(async ({ ctx, input }) => {
    const clash = await ctx.db.host.findFirst({
      where: { OR: [{ id: input.id }, { httpsUrl: input.httpsUrl, removedAt: null }] },
    });
    if (clash) {
      const message =
        clash.id !== input.id
          ? `httpsUrl: host ${clash.id} has that URL`
          : clash.removedAt
            ? `id: ${input.id} belonged to a host removed on ${clash.removedAt.toISOString()}; pick another id`
            : `id: host ${input.id} exists`;
      throw new TRPCError({ code: 'CONFLICT', message });
    }
    const token = newToken();
    await ctx.db.host.create({ data: { id: input.id, httpsUrl: input.httpsUrl, tokenHash: hashToken(token) } });
    return { id: input.id, httpsUrl: input.httpsUrl, token };
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
      return { id: input.id, token };
    }),

  remove: adminProcedure.input(z.object({ id: hostId })).mutation(async ({ ctx, input }) => {
    const live = await ctx.db.capsul.count({ where: { hostId: input.id, deletedAt: null } });
    if (live > 0) {
      throw new TRPCError({ code: 'PRECONDITION_FAILED', message: `host ${input.id} still has ${live} capsul(s); destroy them first` });
    }
    const removed = await ctx.db.host.updateMany({ where: { id: input.id, removedAt: null }, data: { removedAt: new Date() } });
    if (removed.count === 0) throw new TRPCError({ code: 'NOT_FOUND', message: `no host ${input.id}` });
    return { removed: true as const };
  }),
});
