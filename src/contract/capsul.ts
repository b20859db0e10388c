import { z } from 'zod';

/** What a hypervisor reports about a VM. */
export const vmState = z.enum(['running', 'stopped', 'paused', 'shutting_down', 'crashed']);
export type VmState = z.infer<typeof vmState>;

/**
 * A capsul's state in the hub: the VM states plus its life before and after the VM. `missing`: its host
 * answered and does not have it (the VM went behind the hub's back); it takes the host's state again if
 * the host reports it again.
 */
export const capsulState = z.enum(['pending', 'creating', ...vmState.options, 'missing', 'failed', 'deleted']);
export type CapsulState = z.infer<typeof capsulState>;

export const vmCommand = z.enum(['start', 'stop', 'forceStop', 'restart']);
export type VmCommand = z.infer<typeof vmCommand>;

export const vcpus = z.number().int().min(1).max(128);
export const memoryMb = z.number().int().min(64).max(4 * 1024 * 1024);
export const diskGb = z.number().int().min(1).max(64 * 1024);

export const ipv4 = z.ipv4();
export const ipv6 = z.ipv6();

export const CAPSUL_NAME_PATTERN = /^[a-z0-9](?:[a-z0-9-]{0,38}[a-z0-9])?$/;
/** What a member calls a capsul: shown everywhere, never sent to a spoke (the id is the handle there). */
export const capsulName = z
  .string()
  .min(1, 'give the capsul a name')
  .max(40, 'at most 40 characters')
  .regex(CAPSUL_NAME_PATTERN, 'use a-z, 0-9 and "-", starting and ending with a letter or digit');
