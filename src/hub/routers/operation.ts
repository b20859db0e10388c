// The operations log: every hub-to-spoke operation with each host's assignment status, result and timing.
import { TRPCError } from '@trpc/server';
import { z } from 'zod';
import { capsulId, hostId } from '~/contract/ids';
import { actionOf } from '../operations/action';
import { adminProcedure, router } from '../trpc';
import { changeKind } from '~/contract/change';

const kind = z.enum(['create', 'destroy', 'list', 'capacityAvailable', 'get', 'vmState', 'console', ...changeKind.options]);
const state = z.enum(['pending', 'assigned', 'completed', 'failed', 'conflict']);
const CAPSUL_NAME = { select: { name: true } } as const;

export const operationRouter = router({
  byId: adminProcedure.input(z.object({ id: z.uuid() })).query(async ({ ctx, input }) => {
    const op = await ctx.db.operation.findUnique({ where: { id: input.id }, include: { hostOperations: { orderBy: { hostId: 'asc' } }, capsul: CAPSUL_NAME } });
    if (!op) throw new TRPCError({ code: 'NOT_FOUND', message: `no operation ${input.id}` });
    return { ...op, action: actionOf(op.kind, op.payload) };
  }),

  list: adminProcedure
    .input(
      z
        .object({
          kind: kind.optional(),
          state: state.optional(),
          hostId: hostId.optional(),
          capsulId: capsulId.optional(),
          limit: z.number().int().min(1).max(500).default(50),
        })
        .default({ limit: 50 }),
    )
    .query(async ({ ctx, input }) => {
      const ops = await ctx.db.operation.findMany({
        where: {
          kind: input.kind,
          state: input.state,
          capsulId: input.capsulId,
          ...(input.hostId ? { hostOperations: { some: { hostId: input.hostId } } } : {}),
        },
        orderBy: { createdAt: 'desc' },
        take: input.limit,
        include: { hostOperations: { orderBy: { hostId: 'asc' } }, capsul: CAPSUL_NAME },
      });
      return ops.map((o) => ({ ...o, action: actionOf(o.kind, o.payload) }));
    }),
});
