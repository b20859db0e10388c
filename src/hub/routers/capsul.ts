// Capsuls: create (async, see operations/create.ts), list, get, start/stop/restart and destroy.
import { TRPCError } from '@trpc/server';
import { z } from 'zod';
import { diskGb, memoryMb, vcpus, vmCommand } from '~/contract/capsul';
import { capsulId, catalogId } from '~/contract/ids';
import { sshPublicKey } from '~/contract/ssh-key';
import { ensureAccount } from '../accounts';
import { findImage, findSize } from '../catalog';
import { createCapsul, destroyCapsul, getCapsul, setCapsulState } from '../operations';
import { adminProcedure, router } from '../trpc';

const email = z.email().max(254).transform((e) => e.toLowerCase());

export const capsulRouter = router({
  create: adminProcedure
    .input(
      z
        .object({
          owner: email,
          image: catalogId,
          size: catalogId.optional(),
          vcpus: vcpus.optional(),
          memoryMb: memoryMb.optional(),
          diskGb: diskGb.optional(),
          sshAuthorizedKeys: z.array(sshPublicKey).max(32).default([]),
        })
        .refine((i) => i.size || (i.vcpus && i.memoryMb && i.diskGb), {
          path: ['size'],
          message: 'give a size, or vcpus, memoryMb and diskGb',
        }),
    )
    .mutation(async ({ ctx, input }) => {
      const size = input.size ? await findSize(ctx.db, input.size) : undefined;
      const image = await findImage(ctx.db, input.image);
      const owner = await ensureAccount(ctx.db, input.owner);
      return createCapsul(ctx.db, ctx.actor, {
        ownerId: owner.id,
        vcpus: input.vcpus ?? size!.vcpus,
        memoryMb: input.memoryMb ?? size!.memoryMb,
        diskGb: input.diskGb ?? size!.diskGb,
        image,
        sshAuthorizedKeys: input.sshAuthorizedKeys,
      });
    }),

  list: adminProcedure
    .input(z.object({ owner: email.optional(), includeDeleted: z.boolean().default(false) }).default({ includeDeleted: false }))
    .query(({ ctx, input }) =>
      ctx.db.capsul.findMany({
        where: { ...(input.includeDeleted ? {} : { deletedAt: null }), ...(input.owner ? { owner: { email: input.owner } } : {}) },
        orderBy: { createdAt: 'desc' },
        include: { owner: { select: { email: true } } },
      }),
    ),

  byId: adminProcedure.input(z.object({ id: capsulId })).query(async ({ ctx, input }) => {
    const capsul = await ctx.db.capsul.findUnique({ where: { id: input.id }, include: { owner: { select: { email: true } } } });
    if (!capsul) throw new TRPCError({ code: 'NOT_FOUND', message: `no capsul ${input.id}` });
    return capsul;
  }),

  get: adminProcedure.input(z.object({ id: capsulId })).query(({ ctx, input }) => getCapsul(ctx.db, ctx.actor, input.id, {})),

  setState: adminProcedure
    .input(z.object({ id: capsulId, command: vmCommand }))
    .mutation(({ ctx, input }) => setCapsulState(ctx.db, ctx.actor, input.id, input.command, {})),

  destroy: adminProcedure.input(z.object({ id: capsulId })).mutation(({ ctx, input }) => destroyCapsul(ctx.db, ctx.actor, input.id, {})),
});
