// The hub's procedures for spokes (`spoke.*`): inputs and outputs. See PROTOCOL.md, "Hub router for spokes".
import { z } from 'zod';
import { ipv4, ipv6, vmState } from './capsul';
import { operationId } from './ids';
import { driverName } from './spoke';

export const SPOKE_HOST_ID_HEADER = 'x-spoke-host-id';

export const spokeHeartbeatInput = z
  .object({
    driver: driverName,
    // What the host can still give capsuls, so the hub can show it without asking every host.
    freeMemoryMb: z.number().int().optional(),
    freeDiskGb: z.number().int().optional(),
  })
  .optional();

export const claimInput = z.object({ operationId });

export const completionResult = z.discriminatedUnion('ok', [
  z.object({ ok: z.literal(true), state: vmState, ipv4: ipv4.optional(), ipv6: ipv6.optional() }),
  z.object({ ok: z.literal(false), error: z.string().min(1).max(4000) }),
]);
export type CompletionResult = z.infer<typeof completionResult>;

export const completeInput = z.object({ operationId, result: completionResult });
export type CompleteInput = z.infer<typeof completeInput>;
