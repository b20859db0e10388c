// Capsuls: create (async, see operations/create.ts), list, read, rename, start/stop/restart, destroy, their
// operations, and a live feed of changes. Accounts reach their own capsuls; admins reach every capsul.
import { TRPCError } from '@trpc/server';
import { z } from 'zod';
import { capsulName, diskGb, memoryMb, vcpus, vmCommand } from '~/contract/capsul';
import { capsulRow, capsulRowSelect, type CapsulRow } from '~/contract/capsul-row';
import { capsulId, catalogId } from '~/contract/ids';
import { sshPublicKey } from '~/contract/ssh-key';
import { fieldError } from '~/lib/trpc-errors';
import { ensureAccount } from '../accounts';
import { checkCreateBalance } from '../billing/at-zero';
import { isNameConflict, nameTaken, suggestName } from '../capsul-names';
import { findImage, findSize } from '../catalog';
import { defaultLimits, effectiveLimits, NO_USAGE, overLimit } from '../limits';
import { capsulChanged, capsulChanges } from '../events';
import { hostFits, imageAvailability, type ImageAvailability } from '../image-availability';
import { storedErrorFor } from '../error-shape';
import { createCapsul, destroyCapsul, findCapsul, heardCapacity, refreshCapsul, setCapsulState } from '../operations';
import { actionOf } from '../operations/action';
import { rebuildCapsul, resizeCapsul } from '../operations/changes';
import { billingConfig } from '../billing/config';
import { currentPrices } from '../billing/prices';
import { shrinking } from '~/contract/change';
import { actorProcedure, router, scopeOf, type Actor } from '../trpc';
import { email } from './auth';

const OWNER = { select: { email: true } } as const;

function ownerFilter(actor: Actor, input: { all?: boolean; owner?: string }) {
  if (input.all || input.owner) {
    if (!actor.isAdmin) throw new TRPCError({ code: 'FORBIDDEN', message: 'admins only' });
    return input.owner ? { owner: { email: input.owner } } : {};
  }
  // The admin token has no account of its own: it lists everything.
  return actor.accountId ? { ownerId: actor.accountId } : {};
}

/** Who deleted a capsul, as this actor is told it: members are not shown other people's addresses. */
function deleterFor(actor: Actor, deletedBy: string | null): string | null {
  if (!deletedBy) return null;
  if (deletedBy === 'system') return 'the system';
  if (actor.isAdmin) return deletedBy === 'cli' ? 'an operator (admin token)' : deletedBy.replace(/^account:/, '');
  return deletedBy === `account:${actor.email}` ? 'you' : 'an administrator';
}

type StoredCapsul = { error: string | null; deletedAt: Date | null; deletedBy: string | null; ipv4: string | null; ipv6: string | null };

/** A capsul as its page shows it (and live updates push it): a deleted one has no address any more. */
function capsulView<C extends StoredCapsul>(actor: Actor, capsul: C) {
  const gone = capsul.deletedAt ? { ipv4: null, ipv6: null } : {};
  return { ...capsul, ...gone, error: storedErrorFor(actor, capsul.error), deletedBy: deleterFor(actor, capsul.deletedBy) };
}

export const capsulRouter = router({
  create: actorProcedure
    .input(
      z
        .object({
          /** Unique among the owner's capsuls; without one the hub picks a free one. */
          name: capsulName.optional(),
          image: catalogId,
          size: catalogId.optional(),
          vcpus: vcpus.optional(),
          memoryMb: memoryMb.optional(),
          diskGb: diskGb.optional(),
          sshKeyIds: z.array(z.uuid()).max(32).default([]),
          sshAuthorizedKeys: z.array(sshPublicKey).max(32).default([]),
          owner: email.optional(),
        })
        .refine((i) => i.size || (i.vcpus && i.memoryMb && i.diskGb), { path: ['size'], message: 'pick a size' }),
    )
    .mutation(async ({ ctx, input }) => {
      const { actor } = ctx;
      if (!actor.isAdmin) {
        if (input.owner) throw fieldError('owner', 'only admins make capsuls for another account', 'FORBIDDEN');
        const own = (['vcpus', 'memoryMb', 'diskGb'] as const).find((f) => input[f]);
        if (own) throw fieldError(own, 'only admins choose vCPUs, memory and disk; pick one of the sizes offered', 'FORBIDDEN');
      }
      const ownerEmail = input.owner ?? actor.email;
      if (!ownerEmail) throw fieldError('owner', 'give the email of the account the capsul is for');
      // Everything is checked before anything is written (the owner's account is made on first use).
      const [size, image, existing, defaults] = await Promise.all([
        input.size ? findSize(ctx.db, input.size) : undefined,
        findImage(ctx.db, input.image),
        ctx.db.account.findUnique({ where: { email: ownerEmail }, select: { id: true, limits: true } }),
        defaultLimits(ctx.db),
      ]);
      const keys = input.sshKeyIds.length && existing ? await ctx.db.sshKey.findMany({ where: { id: { in: input.sshKeyIds }, ownerId: existing.id } }) : [];
      if (keys.length !== input.sshKeyIds.length) throw fieldError('sshKeyIds', 'one of these keys is not yours, or was removed');
      const resources = { vcpus: input.vcpus ?? size!.vcpus, memoryMb: input.memoryMb ?? size!.memoryMb, diskGb: input.diskGb ?? size!.diskGb };
      const limits = effectiveLimits(defaults, existing?.limits);
      // An account not made yet holds nothing: past a limit already, it is refused before its row is made.
      // Any other is counted when its capsul's rows are written (limits.ts).
      const refusal = existing ? undefined : overLimit(limits, NO_USAGE, { ...resources, bySize: !!size });
      if (refusal) throw refusal;
      // With billing on: enough balance for the first hours of the size (billing/at-zero.ts).
      await checkCreateBalance(ctx.db, { accountId: existing?.id ?? null, sizeId: size?.id ?? null });
      const owner = existing ?? (await ensureAccount(ctx.db, ownerEmail));
      return createCapsul(ctx.db, actor.label, {
        ownerId: owner.id,
        name: input.name,
        ...resources,
        image,
        sshAuthorizedKeys: [...new Set([...keys.map((k) => k.content), ...input.sshAuthorizedKeys])],
        limits,
        bySize: !!size,
        sizeId: size?.id ?? null,
      });
    }),

  /**
   * Whether any online host can take this size now, and for each catalog image whether an online host has it
   * (and room for the size), from what each host said with its last heartbeat: asked before a create (and
   * again whenever the form is looked at), so it reads the database only and asks no host. Members see the
   * images some host has, without the hosts' details; admins see every image and why.
   */
  capacity: actorProcedure.input(z.object({ size: catalogId.optional() }).default({})).query(async ({ ctx, input }) => {
    const size = input.size ? await findSize(ctx.db, input.size) : undefined;
    const [hosts, images] = await Promise.all([heardCapacity(ctx.db), ctx.db.osImage.findMany({ where: { enabled: true }, orderBy: [{ sortOrder: 'asc' }, { id: 'asc' }] })]);
    const perImage = images.map((image) => imageAvailability(image, hosts, size));
    const { isAdmin } = ctx.actor;
    return {
      available: size ? hosts.some((h) => hostFits(h, size)) : hosts.length > 0,
      images: isAdmin ? perImage : perImage.filter((i) => i.problem !== 'missing').map(({ reason: _, ...i }): ImageAvailability => i),
      ...(isAdmin
        ? { hosts: hosts.map(({ images: _, ...h }) => ({ ...h, available: size ? hostFits(h, size) : true })) }
        : {}),
    };
  }),

  list: actorProcedure
    .input(z.object({ all: z.boolean().optional(), owner: email.optional(), includeDeleted: z.boolean().default(false) }).default({ includeDeleted: false }))
    .query(async ({ ctx, input }): Promise<CapsulRow[]> => {
      // Owners are shown on lists that can hold other people's capsuls (and to the CLI's admin token).
      const withOwner = !!(input.all || input.owner || !ctx.actor.accountId);
      const rows = await ctx.db.capsul.findMany({
        where: { ...ownerFilter(ctx.actor, input), ...(input.includeDeleted ? {} : { deletedAt: null }) },
        orderBy: { createdAt: 'desc' },
        select: capsulRowSelect(withOwner),
      });
      return rows.map((c) => capsulRow(c, withOwner));
    }),

  /** A name the account does not use yet, for the create form to suggest. */
  suggestName: actorProcedure.query(({ ctx }) => suggestName(ctx.db, ctx.actor.accountId ?? 'none')),

  /** Also a deleted capsul: its page says when and by whom, and shows no address. */
  byId: actorProcedure.input(z.object({ id: capsulId })).query(async ({ ctx, input }) => {
    const capsul = await ctx.db.capsul.findFirst({ where: { id: input.id, ...scopeOf(ctx.actor) }, include: { owner: OWNER } });
    if (!capsul) throw new TRPCError({ code: 'NOT_FOUND', message: `no capsul ${input.id}` });
    const image = await ctx.db.osImage.findUnique({ where: { id: capsul.image }, select: { name: true, loginUser: true } });
    return { ...capsulView(ctx.actor, capsul), imageName: image?.name ?? capsul.image, loginUser: image?.loginUser ?? 'root' };
  }),

  /** A new name for a capsul not deleted (the id stays its handle). */
  rename: actorProcedure.input(z.object({ id: capsulId, name: capsulName })).mutation(async ({ ctx, input }) => {
    const capsul = await findCapsul(ctx.db, input.id, scopeOf(ctx.actor));
    if (capsul.name !== input.name) {
      // The unique index is the check: a name in use is refused by the write itself.
      await ctx.db.capsul.update({ where: { id: input.id }, data: { name: input.name } }).catch((err: unknown) => {
        throw isNameConflict(err) ? nameTaken(input.name) : err;
      });
      capsulChanged(capsul);
    }
    return { id: input.id, name: input.name };
  }),

  /** Asks the owning host for the capsul's state and address now (recorded, so a mutation). */
  refresh: actorProcedure.input(z.object({ id: capsulId })).mutation(({ ctx, input }) => refreshCapsul(ctx.db, ctx.actor.label, input.id, scopeOf(ctx.actor))),

  setState: actorProcedure
    .input(z.object({ id: capsulId, command: vmCommand }))
    .mutation(({ ctx, input }) => setCapsulState(ctx.db, ctx.actor.label, input.id, input.command, scopeOf(ctx.actor))),

  /** Grows the capsul to a larger catalog size (an owner-directed async operation, operations/changes.ts). */
  resize: actorProcedure
    .input(z.object({ id: capsulId, size: catalogId }))
    .mutation(({ ctx, input }) => resizeCapsul(ctx.db, ctx.actor.label, input.id, input.size, scopeOf(ctx.actor))),

  /**
   * The sizes this capsul can grow to, each with its price and whether its host has the room now (from the
   * host's last heartbeat; the host checks again when asked). Reads the database only.
   */
  resizeOptions: actorProcedure.input(z.object({ id: capsulId })).query(async ({ ctx, input }) => {
    const capsul = await findCapsul(ctx.db, input.id, scopeOf(ctx.actor));
    const [sizes, prices, hosts] = await Promise.all([
      ctx.db.vmSize.findMany({ orderBy: [{ sortOrder: 'asc' }, { id: 'asc' }] }),
      billingConfig() ? currentPrices(ctx.db) : Promise.resolve([]),
      heardCapacity(ctx.db),
    ]);
    const host = hosts.find((h) => h.id === capsul.hostId);
    return sizes
      .filter((s) => !shrinking(capsul, s) && (s.vcpus !== capsul.vcpus || s.memoryMb !== capsul.memoryMb || s.diskGb !== capsul.diskGb))
      .map((s) => {
        const more = { memoryMb: s.memoryMb - capsul.memoryMb, diskGb: s.diskGb - capsul.diskGb };
        const room = !host ? 'its host is offline' : (host.freeMemoryMb ?? Infinity) < more.memoryMb || (host.freeDiskGb ?? Infinity) < more.diskGb ? `its host has ${host.freeMemoryMb} MiB memory and ${host.freeDiskGb} GiB disk free; this needs ${more.memoryMb} MiB and ${more.diskGb} GiB more` : null;
        return { id: s.id, name: s.name, vcpus: s.vcpus, memoryMb: s.memoryMb, diskGb: s.diskGb, monthlyMinor: prices.find((p) => p.sizeId === s.id)?.monthlyMinor ?? null, fits: !room, reason: room };
      });
  }),

  /** A new disk from an image, with the chosen keys; the same id and address. Confirmed by typing the name. */
  rebuild: actorProcedure
    .input(
      z.object({
        id: capsulId,
        image: catalogId,
        sshKeyIds: z.array(z.uuid()).max(32).default([]),
        sshAuthorizedKeys: z.array(sshPublicKey).max(32).default([]),
        confirm: z.string().max(64),
      }),
    )
    .mutation(async ({ ctx, input }) => {
      const capsul = await findCapsul(ctx.db, input.id, scopeOf(ctx.actor));
      const image = await findImage(ctx.db, input.image);
      const keys = input.sshKeyIds.length ? await ctx.db.sshKey.findMany({ where: { id: { in: input.sshKeyIds }, ownerId: capsul.ownerId } }) : [];
      if (keys.length !== input.sshKeyIds.length) throw fieldError('sshKeyIds', "one of these keys is not the capsul owner's, or was removed");
      const sshAuthorizedKeys = [...new Set([...keys.map((k) => k.content), ...input.sshAuthorizedKeys])];
      return rebuildCapsul(ctx.db, ctx.actor.label, input.id, { image, sshAuthorizedKeys, confirm: input.confirm }, scopeOf(ctx.actor));
    }),

  destroy: actorProcedure
    .input(z.object({ id: capsulId }))
    .mutation(({ ctx, input }) => destroyCapsul(ctx.db, ctx.actor.label, input.id, scopeOf(ctx.actor))),

  operations: actorProcedure.input(z.object({ id: capsulId })).query(async ({ ctx, input }) => {
    const capsul = await ctx.db.capsul.findFirst({ where: { id: input.id, ...scopeOf(ctx.actor) }, select: { id: true } });
    if (!capsul) throw new TRPCError({ code: 'NOT_FOUND', message: `no capsul ${input.id}` });
    const operations = await ctx.db.operation.findMany({
      where: { capsulId: input.id },
      orderBy: { createdAt: 'desc' },
      take: 50,
      select: { id: true, kind: true, payload: true, state: true, error: true, actor: true, createdAt: true, completedAt: true, hostId: true },
    });
    // The payload stays here (a create's carries the keys): the table needs only what was done.
    return operations.map(({ payload, ...o }) => ({ ...o, action: actionOf(o.kind, payload), error: storedErrorFor(ctx.actor, o.error) }));
  }),

  /** Each change to a capsul this actor may see, as the whole row, pushed over server-sent events. */
  watch: actorProcedure.subscription(async function* ({ ctx, signal }) {
    const scope = scopeOf(ctx.actor);
    // Changes outside the scope are skipped before anything is read.
    for await (const change of capsulChanges((c) => !scope.ownerId || c.ownerId === scope.ownerId, signal)) {
      const capsul = await ctx.db.capsul.findFirst({ where: { id: change.id, ...scope }, include: { owner: OWNER } });
      if (capsul) yield capsulView(ctx.actor, capsul);
    }
  }),
});
