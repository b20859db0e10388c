// The open books (src/hub/billing/open-books.ts): anyone, signed in or not, reads the fleet's monthly costs
// against its income while BILLING_PUBLIC_BOOKS is on; admins enter, correct and remove the cost items.
// These join the billing router (root.ts).
import { TRPCError } from '@trpc/server';
import { z } from 'zod';
import { fieldError } from '~/lib/trpc-errors';
import { addFleetCost, deleteFleetCost, fleetCosts, MAX_COST_MINOR, MAX_LABEL, MONTH_PATTERN, openBooks, publicBooksOn, updateFleetCost, type FleetCost } from '../billing/open-books';
import { adminProcedure, publicProcedure } from '../trpc';
import { needBilling, refusing } from './billing';

const cost = z.object({
  month: z.string().regex(MONTH_PATTERN, 'must be a month written YYYY-MM, e.g. 2026-12'),
  label: z.string().trim().min(1, 'must name the cost, e.g. "colocation"').max(MAX_LABEL),
  amountMinor: z.number().int('must be a whole number of minor units (cents)').positive('must be more than nothing').max(MAX_COST_MINOR),
});

/** An item as admins see it: with who entered and who last changed it. */
const forAdmins = (c: FleetCost) => ({
  id: c.id, month: c.month, label: c.label, amountMinor: c.amountMinor, currency: c.currency, enteredBy: c.enteredBy, updatedBy: c.updatedBy, createdAt: c.createdAt, updatedAt: c.updatedAt,
});

export const openBooksProcedures = {
  /** The last 12 months' costs (items and sum), income (payments less refunds) and balance; no session needed. */
  openBooks: publicProcedure.query(({ ctx }) => {
    // The same answer as an address with nothing behind it: the page is simply not there on this hub.
    if (!publicBooksOn()) throw new TRPCError({ code: 'NOT_FOUND', message: 'This hub does not publish its books (BILLING_PUBLIC_BOOKS is off).' });
    return openBooks(ctx.db);
  }),

  /** The cost items of the last 12 months and any later, for the admins' page (published or not). */
  fleetCosts: adminProcedure.query(async ({ ctx }) => {
    const { currency } = needBilling();
    return { currency, published: publicBooksOn(), costs: (await fleetCosts(ctx.db)).map(forAdmins) };
  }),

  addCost: adminProcedure.input(cost).mutation(async ({ ctx, input }) => {
    needBilling();
    return forAdmins(await refusing(addFleetCost(ctx.db, { ...input, actor: ctx.actor.label })));
  }),

  updateCost: adminProcedure.input(cost.extend({ id: z.uuid() })).mutation(async ({ ctx, input }) => {
    needBilling();
    const { id, ...change } = input;
    const updated = await refusing(updateFleetCost(ctx.db, id, { ...change, actor: ctx.actor.label }));
    if (!updated) throw fieldError('id', 'there is no such cost item (deleted already?)', 'NOT_FOUND');
    return forAdmins(updated);
  }),

  deleteCost: adminProcedure.input(z.object({ id: z.uuid() })).mutation(async ({ ctx, input }) => {
    needBilling();
    if (!(await deleteFleetCost(ctx.db, input.id))) throw fieldError('id', 'there is no such cost item (deleted already?)', 'NOT_FOUND');
    return { id: input.id, deleted: true as const };
  }),
};
