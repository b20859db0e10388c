// The console: `ticket` mints a short-lived, single-use ticket for a capsul's console WebSocket (the hub's
// /console, src/hub/console/relay.ts). The owner (or an admin, or the admin token) only; a capsul someone
// else owns is NOT_FOUND, as everywhere.
import { TRPCError } from '@trpc/server';
import { HUB_CONSOLE_PATH, ticketInput, ticketOutput } from '~/contract/console';
import { mintTicket } from '../console/tickets';
import { findCapsul } from '../operations';
import { actorProcedure, clientAddress, router, scopeOf } from '../trpc';

export const consoleRouter = router({
  ticket: actorProcedure
    .input(ticketInput)
    .output(ticketOutput)
    .mutation(async ({ ctx, input }) => {
      const capsul = await findCapsul(ctx.db, input.id, scopeOf(ctx.actor));
      if (!capsul.hostId) {
        throw new TRPCError({ code: 'PRECONDITION_FAILED', message: `capsul ${capsul.id} is on no host yet (state ${capsul.state}): it has no console` });
      }
      const minted = await mintTicket(ctx.db, {
        capsul: { id: capsul.id, hostId: capsul.hostId },
        kind: input.kind,
        actor: ctx.actor.label,
        sessionToken: ctx.actor.sessionToken,
        clientAddress: clientAddress(ctx),
      });
      return { ticket: minted.ticket, expiresAt: minted.expiresAt, path: HUB_CONSOLE_PATH };
    }),
});
