// Owner-directed async operations (PROTOCOL.md v1.1): changes to a capsul that exists, offered to its owner
// host only. The hub offers one with `change`; the owner answers at once (`assigned`, or `not_applicable`
// with the reason) and reports the end through `spoke.completeOperation` and its durable outbox.
import { z } from 'zod';
import { diskGb, memoryMb, vcpus } from './capsul';
import { capsulId, catalogId, operationId } from './ids';
import { imageFiles } from './spoke';
import { sshPublicKey } from './ssh-key';

// Reaches file names on the spoke: nothing else may pass.
export const SNAPSHOT_ID_PATTERN = /^snap-[a-z0-9]{10}$/;
export const snapshotId = z.string().max(32).regex(SNAPSHOT_ID_PATTERN, 'a snapshot id is "snap-" and 10 lower-case letters or digits');

/** What a member calls a snapshot: shown everywhere, never sent to a spoke (the id is the handle there). */
export const SNAPSHOT_NAME_PATTERN = /^[A-Za-z0-9](?:[A-Za-z0-9._-]{0,38}[A-Za-z0-9])?$/;
export const snapshotName = z
  .string()
  .min(1, 'give the snapshot a name')
  .max(40, 'at most 40 characters')
  .regex(SNAPSHOT_NAME_PATTERN, 'use letters, digits, ".", "_" and "-", starting and ending with a letter or digit');
export const snapshotNote = z
  .string()
  .max(500, 'at most 500 characters')
  .regex(/^[^\x00-\x08\x0b-\x1f\x7f]*$/, 'no control characters');

export const changeKind = z.enum(['resize', 'snapshotCreate', 'snapshotRevert', 'snapshotDelete', 'rebuild']);
export type ChangeKind = z.infer<typeof changeKind>;

/** How each change is named to people, on both sides. */
export const CHANGE_WORDS: Record<ChangeKind, string> = {
  resize: 'a resize',
  snapshotCreate: 'a snapshot',
  snapshotRevert: 'a revert to a snapshot',
  snapshotDelete: 'a snapshot deletion',
  rebuild: 'a rebuild',
};

export const capsulChange = z.discriminatedUnion('kind', [
  /** Grows vCPUs, memory and disk (never shrinks); a running capsul is stopped and started again. */
  z.object({ kind: z.literal('resize'), vcpus, memoryMb, diskGb }),
  /** A disk snapshot, consistent: a running guest is paused for the moment it is taken. */
  z.object({ kind: z.literal('snapshotCreate'), snapshotId }),
  /** The disk as it was at the snapshot; the snapshots taken after it are removed (the chain is linear). */
  z.object({ kind: z.literal('snapshotRevert'), snapshotId }),
  z.object({ kind: z.literal('snapshotDelete'), snapshotId }),
  /** A new disk from an image and a new seed with these keys; same domain, so the same MAC and address. */
  z.object({ kind: z.literal('rebuild'), image: catalogId, imageFiles, diskGb, sshAuthorizedKeys: z.array(sshPublicKey).max(32) }),
]);
export type CapsulChange = z.infer<typeof capsulChange>;

export const changeInput = z.object({ operationId, id: capsulId, change: capsulChange });
export type ChangeInput = z.infer<typeof changeInput>;

export const changeOutput = z.object({
  assignmentStatus: z.enum(['assigned', 'not_applicable']),
  reason: z.string().max(2000).optional(),
});
export type ChangeOutput = z.infer<typeof changeOutput>;

/** A snapshot as its host keeps it: the bytes its disk layer takes on the host. */
export const snapshotOnHost = z.object({ id: snapshotId, bytes: z.number().int().min(0) });
export type SnapshotOnHost = z.infer<typeof snapshotOnHost>;

type Size = { vcpus: number; memoryMb: number; diskGb: number };

/** Why a resize from `now` to `to` would shrink the capsul (refused: data would be lost), or null. */
export function shrinking(now: Size, to: Size): string | null {
  const fields = [
    ['vCPUs', to.vcpus, now.vcpus, ''],
    ['memory', to.memoryMb, now.memoryMb, ' MiB'],
    ['disk', to.diskGb, now.diskGb, ' GiB'],
  ] as const;
  const smaller = fields.filter(([, want, have]) => want < have).map(([name, want, have, unit]) => `${name} ${want}${unit} is less than the ${have}${unit} it has`);
  return smaller.length ? `shrinking is not supported: ${smaller.join('; ')}` : null;
}
