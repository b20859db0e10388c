// The async create (PROTOCOL.md, "Operations"): offered to every online host at once; each spoke that can
// take it claims it in the database (claim.ts), which lets exactly one win; the hub counts the answers.
// Exactly one owner → assigned, the capsul is `creating` until the owner's completion (complete.ts);
// none → the create fails at once, naming each host and why; a host answering `assigned` without owning
// it → `conflict`, logged at error level and shown to admins.
import { randomBytes, randomUUID } from 'node:crypto';
import { TRPCError } from '@trpc/server';
import { createOutput, type CreateInput, type CreateOutput } from '~/contract/spoke';
import { env } from '~/env';
import { afterAnswer } from '~/lib/after-answer';
import { log } from '~/lib/log';
import { HostsError, type HostReason } from '~/lib/trpc-errors';
import type { Db } from '../db/client';
import { fanOut, type HostOutcome } from './fan-out';
import { onlineHosts } from './hosts';
import { capsulChanged } from '../events';
import { countOperation } from '../metrics';
import { createInFlight } from './claim';
import { trackAfterAnswer, type Actor } from './record';

export type CreateRequest = {
  ownerId: string;
  vcpus: number;
  memoryMb: number;
  diskGb: number;
  image: { id: string; file: string; kernel?: string | null; initrd?: string | null; cmdline?: string | null };
  sshAuthorizedKeys: string[];
};

const ALPHABET = 'abcdefghijklmnopqrstuvwxyz0123456789';
export function newCapsulId(): string {
  // 36 divides 252 evenly, so dropping bytes ≥ 252 keeps every character equally likely.
  const chars = [...randomBytes(32)].filter((b) => b < 252).slice(0, 10);
  if (chars.length < 10) return newCapsulId();
  return `capsul-${chars.map((b) => ALPHABET[b % 36]).join('')}`;
}

function statusOf(o: HostOutcome<CreateOutput>): HostReason {
  if (!o.ok) return { hostId: o.hostId, status: o.status, reason: o.reason };
  return { hostId: o.hostId, status: o.value.assignmentStatus, reason: o.value.reason ?? '' };
}

/** Writes every host's answer in one statement; the winner's row was already set by its claim. */
async function recordAnswers(db: Db, operationId: string, answers: HostReason[]) {
  if (answers.length === 0) return;
  await db.$executeRaw`
    UPDATE "HostOperation" AS h
       SET "assignmentStatus" = a.status::"AssignmentStatus",
           reason = NULLIF(a.reason, ''),
           "completedAt" = CASE WHEN a.status = 'assigned' THEN NULL ELSE now() AT TIME ZONE 'UTC' END
      FROM unnest(${answers.map((a) => a.hostId)}::text[], ${answers.map((a) => a.status)}::text[],
                  ${answers.map((a) => a.reason)}::text[]) AS a("hostId", status, reason)
     WHERE h."operationId" = ${operationId} AND h."hostId" = a."hostId" AND h."assignmentStatus" <> 'assigned'`;
}

export async function createCapsul(db: Db, actor: Actor, request: CreateRequest) {
  const hosts = await onlineHosts(db);
  const { image, ...size } = request;
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

  // The rows (the capsul, the operation and a row per host) go in one statement, written while the offers are
  // out: a claim waits for them (claim.ts: in this process through `createInFlight`, in another by looking
  // again), so the write is not a step of its own before the first offer. It starts a millisecond after the
  // offers: started with them, its work on this event loop went first and held each offer back (~1.3 ms).
  const now = new Date().toISOString().replace('Z', '');
  const rows = new Promise((r) => setTimeout(r, 1)).then(() => db.$executeRaw`
    WITH capsul AS (
      INSERT INTO "Capsul" (id, "ownerId", vcpus, "memoryMb", "diskGb", image, state, "createdAt", "updatedAt")
      VALUES (${id}, ${request.ownerId}, ${size.vcpus}, ${size.memoryMb}, ${size.diskGb}, ${image.id}, 'pending', ${now}::timestamp(3), ${now}::timestamp(3))
    ), operation AS (
      INSERT INTO "Operation" (id, kind, payload, state, actor, "capsulId", "createdAt", "updatedAt")
      VALUES (${operationId}, 'create', ${JSON.stringify(payload)}::jsonb, 'pending', ${actor}, ${id}, ${now}::timestamp(3), ${now}::timestamp(3))
    )
    INSERT INTO "HostOperation" ("operationId", "hostId", "assignmentStatus", "createdAt")
    SELECT ${operationId}, h, 'pending', ${now}::timestamp(3) FROM unnest(${hosts.map((h) => h.id)}::text[]) AS h`).then(() => capsulChanged(id));
  rows.catch(() => undefined); // awaited below, after the offers; this only keeps it from counting as unhandled meanwhile

  const claims = createInFlight(operationId, hosts.map((h) => h.id), rows);
  let localWinner: string | undefined;
  let outcomes: HostOutcome<CreateOutput>[];
  try {
    outcomes = await fanOut(hosts, { procedure: 'create', deadlineMs: env().SPOKE_CALL_TIMEOUT_MS, operationId }, (s, o) => s.create.mutate(payload, o), createOutput);
    await rows; // if they could not be written, no claim could be decided: the create fails with that error
  } finally {
    localWinner = claims.done();
  }
  const answers = outcomes.map(statusOf);
  // Each host's answer is audit data: written without holding up the caller (the owner is already in the
  // database, written by its claim).
  trackAfterAnswer(() => recordAnswers(db, operationId, answers).catch((err) => opLog.error('could not record the hosts\' answers', { err })));

  const saidAssigned = answers.filter((a) => a.status === 'assigned').map((a) => a.hostId);
  // The winner, as this hub saw it decided (when the claim came here), or as the database has it.
  let owner = localWinner ?? (await db.operation.findUniqueOrThrow({ where: { id: operationId }, select: { hostId: true } })).hostId;

  if (!owner && saidAssigned.length === 0) {
    const reason = hosts.length ? answers.map((a) => `${a.hostId}: ${a.status}${a.reason ? ` (${a.reason})` : ''}`).join('; ') : 'no host is online';
    // Conditional on `pending`: a claim that lands now wins over the failure.
    const failed = await db.operation.updateMany({
      where: { id: operationId, state: 'pending', hostId: null },
      data: { state: 'failed', error: `no host could take it: ${reason}`, completedAt: new Date() },
    });
    if (failed.count === 1) {
      await db.capsul.update({ where: { id }, data: { state: 'failed', error: `no host could take it: ${reason}`, deletedAt: new Date() } });
      capsulChanged(id);
      countOperation('create', 'failed');
      opLog.warn('create failed: no host could take it', { hosts: answers });
      const message = `no host could take this capsul: ${reason}`;
      throw new TRPCError({ code: 'PRECONDITION_FAILED', message, cause: new HostsError(message, answers) });
    }
    owner = (await db.operation.findUniqueOrThrow({ where: { id: operationId }, select: { hostId: true } })).hostId;
  }

  const impostors = saidAssigned.filter((h) => h !== owner);
  if (impostors.length > 0 || !owner) {
    const error = `conflict: ${saidAssigned.join(', ')} answered "assigned"; the database gave it to ${owner ?? 'no host'}`;
    await db.$transaction([
      db.operation.update({ where: { id: operationId }, data: { state: 'conflict', error } }),
      db.capsul.update({ where: { id }, data: { state: 'failed', error } }),
    ]);
    capsulChanged(id);
    countOperation('create', 'conflict');
    opLog.error('create conflict: more than one host claims it', { saidAssigned, owner });
    throw new TRPCError({ code: 'CONFLICT', message: error, cause: new HostsError(error, answers) });
  }
  if (!saidAssigned.includes(owner)) {
    opLog.warn('the owner won the claim but its answer was lost; it stays the owner', { owner });
  }
  countOperation('create', 'assigned');
  void afterAnswer().then(() => opLog.info('create assigned', { hostId: owner }));
  return { capsulId: id, operationId, hostId: owner, hosts: answers };
}

