import { z } from 'zod';

/** What a hypervisor reports about a VM. */
export const vmState = z.enum(['running', 'stopped', 'paused', 'shutting_down', 'crashed']);
export type VmState = z.infer<typeof vmState>;

/** A capsul's state in the hub: the VM states plus its life before and after the VM. */
export const capsulState = z.enum(['pending', 'creating', ...vmState.options, 'failed', 'deleted']);
export type CapsulState = z.infer<typeof capsulState>;

export const vmCommand = z.enum(['start', 'stop', 'forceStop', 'restart']);
export type VmCommand = z.infer<typeof vmCommand>;

export const vcpus = z.number().int().min(1).max(128);
export const memoryMb = z.number().int().min(64).max(4 * 1024 * 1024);
export const diskGb = z.number().int().min(1).max(64 * 1024);

export const ipv4 = z.ipv4();
export const ipv6 = z.ipv6();
