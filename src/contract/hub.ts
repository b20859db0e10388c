// The hub's procedures for spokes (`spoke.*`): inputs and outputs. See PROTOCOL.md, "Hub router for spokes".
import { z } from 'zod';
import { ipv4, ipv6, vmState } from './capsul';
import { catalogId, operationId } from './ids';
import { snapshotOnHost } from './change';
import { driverName, fileName } from './spoke';

export const SPOKE_HOST_ID_HEADER = 'x-spoke-host-id';

/**
 * Which images a host has: the file names in its images directory (the libvirt driver), or the image ids it
 * pretends to have, "*" for every one (the fake driver, FAKE_IMAGES).
 */
export const imagesOnHost = z.union([
  z.object({ files: z.array(fileName).max(10_000) }),
  z.object({ ids: z.union([z.literal('*'), z.array(catalogId).max(10_000)]) }),
]);
export type ImagesOnHost = z.infer<typeof imagesOnHost>;

export const spokeHeartbeatInput = z
  .object({
    driver: driverName,
    // What the host can still give capsuls, and which images it has, so the hub can say which images and
    // sizes a create can get without asking every host.
    freeMemoryMb: z.number().int().optional(),
    freeDiskGb: z.number().int().optional(),
    images: imagesOnHost.optional(),
  })
  .optional();

export const claimInput = z.object({ operationId });

export const completionResult = z.discriminatedUnion('ok', [
  z.object({
    ok: z.literal(true),
    state: vmState,
    ipv4: ipv4.optional(),
    ipv6: ipv6.optional(),
    // A change's report (contract/change.ts): the capsul's snapshots on the host after it, and for a snapshot
    // of a running capsul how long its guest was paused.
    snapshots: z.array(snapshotOnHost).max(1000).optional(),
    pausedMs: z.number().min(0).optional(),
  }),
  // A change that failed says the state it left the capsul in, when the host could tell.
  z.object({ ok: z.literal(false), error: z.string().min(1).max(4000), state: vmState.optional(), snapshots: z.array(snapshotOnHost).max(1000).optional() }),
]);
export type CompletionResult = z.infer<typeof completionResult>;

export const completeInput = z.object({ operationId, result: completionResult });
export type CompleteInput = z.infer<typeof completeInput>;

/**
 * The steps of a create, in order, as the capsul's page shows them: `assigned` is the hub's (a host won the
 * claim); the owner reports the others while it builds (`spoke.reportProgress`).
 */
export const createStep = z.enum(['assigned', 'disk', 'seed', 'defined', 'booting', 'address']);
export type CreateStep = z.infer<typeof createStep>;
/** Steps a spoke may report (`assigned` is not its to say). */
export const buildStep = createStep.exclude(['assigned']);
export type BuildStep = z.infer<typeof buildStep>;

export const progressInput = z.object({ operationId, step: buildStep });
export type ProgressInput = z.infer<typeof progressInput>;
