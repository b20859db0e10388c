// An account's SSH public keys, offered when it creates a capsul. Each is listed with what `ssh-keygen -l`
// says of it (bits, fingerprint, comment, type), and the same key can be added once, whatever its comment.
import { TRPCError } from '@trpc/server';
import { z } from 'zod';
import { sshPublicKey } from '~/contract/ssh-key';
import { fieldError } from '~/lib/trpc-errors';
import { sshKeyFacts } from '../ssh-key-facts';
import { accountProcedure, router } from '../trpc';

const name = z
  .string()
  .trim()
  .min(1, 'give the key a name')
  .max(64)
  .regex(/^[\w .@+-]+$/, 'use letters, digits, spaces and . @ + - _');

export const sshKeyRouter = router({
  list: accountProcedure.query(async ({ ctx }) => {
    const keys = await ctx.db.sshKey.findMany({ where: { ownerId: ctx.account.id }, orderBy: { createdAt: 'asc' } });
    return keys.map((k) => ({ ...k, ...sshKeyFacts(k.content) }));
  }),

  add: accountProcedure.input(z.object({ name, content: sshPublicKey })).mutation(async ({ ctx, input }) => {
    // The same key is the same type and body, whatever its comment says (content is "type body [comment]").
    const [type, body] = input.content.split(' ');
    const sameKey = `${type} ${body}`;
    const clash = await ctx.db.sshKey.findFirst({
      where: { ownerId: ctx.account.id, OR: [{ name: input.name }, { content: sameKey }, { content: { startsWith: `${sameKey} ` } }] },
    });
    if (clash?.name === input.name) throw fieldError('name', `you already have a key named "${input.name}"; pick another name`, 'CONFLICT');
    if (clash) throw fieldError('content', `this key is already added, as "${clash.name}"`, 'CONFLICT');
    return ctx.db.sshKey.create({ data: { ownerId: ctx.account.id, name: input.name, content: input.content } });
  }),

  remove: accountProcedure.input(z.object({ id: z.uuid() })).mutation(async ({ ctx, input }) => {
    // Scoped to the owner: another account's key id is simply not found.
    const removed = await ctx.db.sshKey.deleteMany({ where: { id: input.id, ownerId: ctx.account.id } });
    if (removed.count === 0) throw new TRPCError({ code: 'NOT_FOUND', message: 'no such key' });
    return { removed: true as const };
  }),
});
