// The spoke's procedures: inputs and outputs. The spoke validates with them; the hub checks what spokes
// answer against them. See ../shared/spec/PROTOCOL.md, "Spoke router".
import { z } from 'zod';
import { diskGb, ipv4, ipv6, memoryMb, vcpus, vmCommand, vmState } from './capsul';
import { capsulId, catalogId, operationId } from './ids';
import { sshPublicKey } from './ssh-key';

/** Sent by the hub with each call: the operation it serves (for the spoke's logs). */
export const OPERATION_ID_HEADER = 'x-capsul-operation-id';

export const driverName = z.enum(['libvirt', 'fake']);
export type DriverName = z.infer<typeof driverName>;

const reason = z.string().max(2000);
export const fileName = z
  .string()
  .max(255)
  .regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, 'must be a plain file name of [A-Za-z0-9._-]');

// PROTOCOL.md v1.1: the bare `{ ok: true }` is a valid answer; a spoke may add fields such as its driver.
export const heartbeatOutput = z.object({ ok: z.literal(true), driver: driverName.optional() });

export const capacityInput = z.object({ memoryMb, diskGb });
export const capacityOutput = z.object({
  available: z.boolean(),
  freeMemoryMb: z.number().int(),
  freeDiskGb: z.number().int(),
});
export type Capacity = z.infer<typeof capacityOutput>;

export const capsulOnHost = z.object({ id: capsulId, state: vmState });
export const listOutput = z.object({ capsuls: z.array(capsulOnHost) });

export const idInput = z.object({ id: capsulId });
export const capsulDetail = capsulOnHost.extend({ ipv4: ipv4.optional(), ipv6: ipv6.optional() });
export type CapsulDetail = z.infer<typeof capsulDetail>;
export const getOutput = capsulDetail.nullable();

export const vmStateInput = z.object({ id: capsulId, command: vmCommand });
export const vmStateOutput = z.object({ state: vmState });

export const destroyOutput = z.object({ destroyed: z.literal(true) });

/** Files of an OsImage in the spoke's images directory: a bootable disk, or a disk plus kernel and initrd. */
export const imageFiles = z.object({
  disk: fileName,
  kernel: fileName.optional(),
  initrd: fileName.optional(),
  cmdline: z.string().max(1024).regex(/^[\x20-\x7e]*$/, 'must be printable ASCII').optional(),
});
export type ImageFiles = z.infer<typeof imageFiles>;

/** The create payload: what the hub offers, and what a winning claim returns. */
export const createInput = z.object({
  operationId,
  id: capsulId,
  vcpus,
  memoryMb,
  diskGb,
  image: catalogId,
  imageFiles,
  sshAuthorizedKeys: z.array(sshPublicKey).max(32),
});
export type CreateInput = z.infer<typeof createInput>;

export const createOutput = z.object({
  assignmentStatus: z.enum(['assigned', 'assigned_to_other_host', 'not_applicable']),
  reason: reason.optional(),
});
export type CreateOutput = z.infer<typeof createOutput>;
