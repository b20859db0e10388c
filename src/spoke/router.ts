// The spoke router (PROTOCOL.md, "Spoke router"). Thin: validation here, the work in Spoke and the hypervisor.
import { TRPCError } from '@trpc/server';
import {
  capacityInput,
  capacityOutput,
  createInput,
  createOutput,
  destroyOutput,
  getOutput,
  heartbeatOutput,
  idInput,
  listOutput,
  vmStateInput,
  vmStateOutput,
} from '~/contract/spoke';
import { changeInput, changeOutput } from '~/contract/change';
import { errorMessage } from '~/lib/log';
import { HypervisorError } from './hypervisor/types';
import { procedure, router } from './trpc';

/** Hypervisor errors become tRPC errors the hub can read; the message says which step failed and why. */
async function hypervisorCall<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (err) {
    if (err instanceof HypervisorError) {
      const code = err.kind === 'not_found' ? 'NOT_FOUND' : err.kind === 'precondition' ? 'PRECONDITION_FAILED' : err.kind === 'unavailable' ? 'SERVICE_UNAVAILABLE' : 'INTERNAL_SERVER_ERROR';
      throw new TRPCError({ code, message: err.message, cause: err });
    }
    throw err;
  }
}

export const spokeRouter = router({
  heartbeat: procedure.output(heartbeatOutput).mutation(async ({ ctx }) => {
    const driver = ctx.spoke.hypervisor.driver;
    // Succeeds only if the hub answered: a heartbeat proves reachability both ways. When it did not, the
    // answer says which way failed (the hub shows it as the host's last error).
    try {
      await ctx.spoke.heartbeatHub();
    } catch (err) {
      throw new TRPCError({ code: 'BAD_GATEWAY', message: `this spoke cannot call the hub back (spoke.heartbeat): ${errorMessage(err)}`, cause: err });
    }
    return { ok: true as const, driver };
  }),

  capacityAvailable: procedure
    .input(capacityInput)
    .output(capacityOutput)
    .query(({ ctx, input }) => hypervisorCall(() => ctx.spoke.capacity(input))),

  list: procedure.output(listOutput).query(async ({ ctx }) => {
    const capsuls = await hypervisorCall(() => ctx.spoke.hypervisor.list());
    return { capsuls: capsuls.map(({ id, state }) => ({ id, state })) };
  }),

  get: procedure
    .input(idInput)
    .output(getOutput)
    .query(({ ctx, input }) => hypervisorCall(() => ctx.spoke.hypervisor.get(input.id))),

  vmState: procedure
    .input(vmStateInput)
    .output(vmStateOutput)
    .mutation(async ({ ctx, input }) => ({
      state: await hypervisorCall(() => ctx.spoke.changes.exclusive(input.id, `a ${input.command} command`, () => ctx.spoke.hypervisor.setState(input.id, input.command, ctx.log))),
    })),

  destroy: procedure
    .input(idInput)
    .output(destroyOutput)
    .mutation(async ({ ctx, input }) => {
      await hypervisorCall(() => ctx.spoke.changes.exclusive(input.id, 'destroying it', () => ctx.spoke.hypervisor.destroy(input.id, ctx.log)));
      return { destroyed: true as const };
    }),

  create: procedure
    .input(createInput)
    .output(createOutput)
    .mutation(({ ctx, input }) => hypervisorCall(() => ctx.spoke.offer(input))),

  /** An owner-directed async change (resize, snapshots, rebuild): started or refused at once (contract/change.ts). */
  change: procedure
    .input(changeInput)
    .output(changeOutput)
    .mutation(({ ctx, input }) => hypervisorCall(() => ctx.spoke.changes.offer(input))),
});

export type SpokeRouter = typeof spokeRouter;
