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
        // The user the image's cloud-init gives the keys to (the console's ssh line); unchanged when not given.
        loginUser: z.string().regex(/^[a-z_][a-z0-9_-]{0,31}$/, 'must be a user name such as debian').optional(),
        enabled: z.boolean().default(true),
        // Unchanged when not given (a new image goes after the defaults).
        sortOrder: z.number().int().min(0).max(10_000).optional(),
      }),
    )
    .mutation(({ ctx, input }) => {
      const { id, loginUser, sortOrder, ...data } = input;
      const row = { ...data, kernel: data.kernel ?? null, initrd: data.initrd ?? null, cmdline: data.cmdline ?? null, ...(loginUser ? { loginUser } : {}) };
      return ctx.db.osImage.upsert({ where: { id }, create: { id, ...row, sortOrder: sortOrder ?? 100 }, update: { ...row, ...(sortOrder === undefined ? {} : { sortOrder }) } });
    }),

  disable: adminProcedure.input(z.object({ id: catalogId })).mutation(async ({ ctx, input }) => {
    const updated = await ctx.db.osImage.updateMany({ where: { id: input.id }, data: { enabled: false } });
    if (updated.count === 0) throw new TRPCError({ code: 'NOT_FOUND', message: `no image ${input.id}` });
    return { disabled: true as const };
  }),
});
