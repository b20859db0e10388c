// The OsImage catalog: which images capsuls can be made from. The files themselves live on each spoke.
import { TRPCError } from '@trpc/server';
import { z } from 'zod';
import { catalogId } from '~/contract/ids';
import { imageFiles } from '~/contract/spoke';
import { adminProcedure, router } from '../trpc';

export const imageRouter = router({
  list: adminProcedure.query(({ ctx }) => ctx.db.osImage.findMany({ orderBy: [{ sortOrder: 'asc' }, { id: 'asc' }] })),

  upsert: adminProcedure
    .input(
      z.object({
        id: catalogId,
        name: z.string().min(1).max(100),
        file: imageFiles.shape.disk,
        kernel: imageFiles.shape.kernel,
        initrd: imageFiles.shape.initrd,
        cmdline: imageFiles.shape.cmdline,
        enabled: z.boolean().default(true),
        sortOrder: z.number().int().min(0).max(10_000).default(100),
      }),
    )
    .mutation(({ ctx, input }) => {
      const { id, ...data } = input;
      const row = { ...data, kernel: data.kernel ?? null, initrd: data.initrd ?? null, cmdline: data.cmdline ?? null };
      return ctx.db.osImage.upsert({ where: { id }, create: { id, ...row }, update: row });
    }),

  disable: adminProcedure.input(z.object({ id: catalogId })).mutation(async ({ ctx, input }) => {
    const updated = await ctx.db.osImage.updateMany({ where: { id: input.id }, data: { enabled: false } });
    if (updated.count === 0) throw new TRPCError({ code: 'NOT_FOUND', message: `no image ${input.id}` });
    return { disabled: true as const };
  }),
});
