// The async create (PROTOCOL.md, "Operations"): the rows are written, then the create is offered to every
// online host at once; each spoke that can take it claims it in the database (claim.ts), which lets exactly
// one win; the hub then weighs the answers against the database's owner (`verdictOf`):
// - one owner, and no other host saying `assigned` → assigned; the capsul is `creating` until the owner's
//   completion (complete.ts). An owner whose answer was lost on the way (no answer, an error) is still the
//   owner: the database decided.
// - no owner and nobody saying `assigned` → the create fails at once, naming each host and why.
// - a host saying `assigned` without owning it, or the owner saying it will not build → `conflict`
//   (conflict.ts): logged at error level, shown to admins, and every VM the hosts made is removed.
import { randomUUID } from 'node:crypto';
import { TRPCError } from '@trpc/server';
import { createOutput, type CreateInput, type CreateOutput } from '~/contract/spoke';
import { env } from '~/env';
import { log } from '~/lib/log';
import { randomId } from '~/lib/random-id';
import { HostsError, type HostReason } from '~/lib/trpc-errors';
import type { Db } from '../db/client';
import { isNameConflict, nameTaken, suggestName } from '../capsul-names';
import { capsulChanged } from '../events';
import { withinLimits, type Limits } from '../limits';
import { countOperation } from '../metrics';
import { endInConflict } from './conflict';
import { fanOut, type HostOutcome } from './fan-out';
import { onlineHosts } from './hosts';
import { track, type Actor } from './record';

export type CreateRequest = {
  ownerId: string;
  /**
   * The name the person chose: refused (nothing written) if the unique index finds it in use. Without one, a
   * suggested name, and another if a concurrent create took that.
   */
  name?: string;
  vcpus: number;
  memoryMb: number;
  diskGb: number;
  image: { id: string; file: string; kernel?: string | null; initrd?: string | null; cmdline?: string | null };
  sshAuthorizedKeys: string[];
  /** The owner's limits (limits.ts), and whether a size chose vCPUs, memory and disk (the field a refusal names). */
  limits: Limits;
  bySize: boolean;
  /** The catalog size it is made with, which prices it (billing); none for hand-picked resources. */
  sizeId?: string | null;
};

export function newCapsulId(): string {
  return randomId('capsul-');
}

function answerOf(o: HostOutcome<CreateOutput>): HostReason {
  if (!o.ok) return { hostId: o.hostId, status: o.status, reason: o.reason };
  return { hostId: o.hostId, status: o.value.assignmentStatus, reason: o.value.reason ?? '' };
}

export type Verdict =
  | { kind: 'assigned'; owner: string; answerLost: boolean }
  | { kind: 'none' }
  | { kind: 'conflict'; error: string; hosts: string[] };

/** What the hosts' answers and the database's owner (`owner`, set by the winning claim) add up to. */
export function verdictOf(answers: HostReason[], owner: string | null): Verdict {
  const saidAssigned = answers.filter((a) => a.status === 'assigned').map((a) => a.hostId);
  if (saidAssigned.some((h) => h !== owner)) {
    const hosts = [...new Set([...saidAssigned, ...(owner ? [owner] : [])])];
    return { kind: 'conflict', hosts, error: `conflict: ${saidAssigned.join(' and ')} answered "assigned"; the database gave it to ${owner ?? 'no host'}` };
  }
  if (!owner) return { kind: 'none' };
  const said = answers.find((a) => a.hostId === owner);
  if (said?.status === 'not_applicable' || said?.status === 'assigned_to_other_host') {
    const why = said.reason ? ` (${said.reason})` : '';
    return { kind: 'conflict', hosts: [owner], error: `conflict: ${owner} won the claim but answered "${said.status}"${why}` };
  }
  return { kind: 'assigned', owner, answerLost: said?.status !== 'assigned' };
}

/** Each host's answer, as it gave it; the owner's row stays `assigned` (its claim proves it) when its answer was lost. */
async function recordAnswers(db: Db, operationId: string, answers: HostReason[], verdict: Verdict) {
  if (answers.length === 0) return;
  const rows = answers.map((a) => {
    if (verdict.kind !== 'assigned' || a.hostId !== verdict.owner) return a;
    return { hostId: a.hostId, status: 'assigned', reason: a.status === 'assigned' ? '' : `claimed it; its answer to the offer was lost (${a.status}: ${a.reason})` };
  });
  await db.$executeRaw`
    UPDATE "HostOperation" AS h
       SET "assignmentStatus" = a.status::"AssignmentStatus",
           reason = NULLIF(a.reason, ''),
           "completedAt" = CASE WHEN a.status = 'assigned' THEN NULL ELSE now() AT TIME ZONE 'UTC' END
      FROM unnest(${rows.map((a) => a.hostId)}::text[], ${rows.map((a) => a.status)}::text[],
                  ${rows.map((a) => a.reason)}::text[]) AS a("hostId", status, reason)
     WHERE h."operationId" = ${operationId} AND h."hostId" = a."hostId"`;
}

async function ownerOf(db: Db, operationId: string): Promise<string | null> {
  return (await db.operation.findUniqueOrThrow({ where: { id: operationId }, select: { hostId: true } })).hostId;
}

export async function createCapsul(db: Db, actor: Actor, request: CreateRequest) {
  const hosts = await onlineHosts(db);
  const { image, limits, bySize, sizeId = null, ...size } = request;
  const id = newCapsulId();
  const operationId = randomUUID();
  const payload: CreateInput = {
    operationId,
    id,
    vcpus: size.vcpus,
    memoryMb: size.memoryMb,
    diskGb: size.diskGb,
    image: image.id,
    imageFiles: {
      disk: image.file,
      kernel: image.kernel ?? undefined,
      initrd: image.initrd ?? undefined,
      cmdline: image.cmdline ?? undefined,
    },
    sshAuthorizedKeys: request.sshAuthorizedKeys,
  };
  const opLog = log.child({ operationId, capsulId: id });
  const change = { id, ownerId: request.ownerId };

  // The capsul, the operation and a row per host it is offered to, in one statement, before any offer: a
  // claim can only win an operation that exists. Only if the owner stays within its limits.
  const now = new Date().toISOString().replace('Z', '');
  const insert = (name: string) => withinLimits(db, request.ownerId, limits, { ...size, bySize }, (tx) => tx.$executeRaw`
    WITH capsul AS (
      INSERT INTO "Capsul" (id, name, "ownerId", vcpus, "memoryMb", "diskGb", image, "sizeId", state, "createdAt", "updatedAt")
      VALUES (${id}, ${name}, ${request.ownerId}, ${size.vcpus}, ${size.memoryMb}, ${size.diskGb}, ${image.id}, ${sizeId}, 'pending', ${now}::timestamp(3), ${now}::timestamp(3))
    ), operation AS (
      INSERT INTO "Operation" (id, kind, payload, state, actor, "capsulId", "createdAt", "updatedAt")
      VALUES (${operationId}, 'create', ${JSON.stringify(payload)}::jsonb, 'pending', ${actor}, ${id}, ${now}::timestamp(3), ${now}::timestamp(3))
    )
    INSERT INTO "HostOperation" ("operationId", "hostId", "assignmentStatus", "createdAt")
    SELECT ${operationId}, h, 'pending', ${now}::timestamp(3) FROM unnest(${hosts.map((h) => h.id)}::text[]) AS h`);
  for (let attempt = 1; ; attempt++) {
    const name = request.name ?? (await suggestName(db, request.ownerId, attempt));
    const err = await insert(name).then(() => undefined, (e: unknown) => e);
    if (!err) break;
    if (!isNameConflict(err)) throw err;
    // A name the person chose is theirs to change; one we suggested, we suggest again.
    if (request.name) throw nameTaken(request.name);
  }
  capsulChanged(change);

  const outcomes = await fanOut(hosts, { procedure: 'create', deadlineMs: env().SPOKE_CALL_TIMEOUT_MS, operationId }, (s, o) => s.create.mutate(payload, o), createOutput);
  const answers = outcomes.map(answerOf);
  let verdict = verdictOf(answers, await ownerOf(db, operationId));

  if (verdict.kind === 'none') {
    const reason = hosts.length ? answers.map((a) => `${a.hostId}: ${a.status}${a.reason ? ` (${a.reason})` : ''}`).join('; ') : 'no host is online';
    const error = `no host could take it: ${reason}`;
    // Conditional on `pending` with no owner: a claim that lands now wins over the failure.
    const failed = await db.operation.updateMany({ where: { id: operationId, state: 'pending', hostId: null }, data: { state: 'failed', error, completedAt: new Date() } });
    if (failed.count === 1) {
      await Promise.all([
        db.capsul.update({ where: { id }, data: { state: 'failed', error, deletedAt: new Date() } }),
        recordAnswers(db, operationId, answers, verdict),
      ]);
      capsulChanged(change);
      countOperation('create', 'failed');
      opLog.warn('create failed: no host could take it', { hosts: answers });
      const message = `no host could take this capsul: ${reason}`;
      throw new TRPCError({ code: 'PRECONDITION_FAILED', message, cause: new HostsError(message, answers) });
    }
    verdict = verdictOf(answers, await ownerOf(db, operationId));
  }
  if (verdict.kind !== 'assigned') {
    await recordAnswers(db, operationId, answers, verdict);
    const conflict = verdict.kind === 'conflict' ? verdict : { error: 'conflict: the owner changed while the answers were counted', hosts: [] };
    await endInConflict(db, { operationId, capsul: change, error: conflict.error, hosts: conflict.hosts, log: opLog });
    throw new TRPCError({ code: 'CONFLICT', message: conflict.error, cause: new HostsError(conflict.error, answers) });
  }
  // The hosts' answers are audit data: the caller does not wait for them (the owner is in the database already).
  track(recordAnswers(db, operationId, answers, verdict).catch((err) => opLog.error("could not record the hosts' answers", { err })));
  if (verdict.answerLost) opLog.warn('the owner won the claim but its answer was lost; it stays the owner', { hostId: verdict.owner });
  countOperation('create', 'assigned');
  opLog.info('create assigned', { hostId: verdict.owner });
  return { capsulId: id, operationId, hostId: verdict.owner, hosts: answers };
}
