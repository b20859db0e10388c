import { z } from 'zod';

// Strict id patterns: ids reach virsh and file names on the spoke, so nothing else may pass.
export const CAPSUL_ID_PATTERN = /^capsul-[a-z0-9]{10}$/;
export const HOST_ID_PATTERN = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;
export const CATALOG_ID_PATTERN = /^[a-z0-9][a-z0-9._-]{0,63}$/;

export const capsulId = z.string().max(64).regex(CAPSUL_ID_PATTERN, 'must be "capsul-" followed by 10 of [a-z0-9]');
export const hostId = z
  .string()
  .max(63)
  .regex(HOST_ID_PATTERN, 'must be 1-63 of [a-z0-9-], starting and ending with a letter or digit');
export const operationId = z.uuid();
/** Ids of catalog rows (OsImage, VmSize). */
export const catalogId = z.string().max(64).regex(CATALOG_ID_PATTERN, 'must be 1-64 of [a-z0-9._-], starting with [a-z0-9]');
