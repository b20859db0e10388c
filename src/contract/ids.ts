import { z } from 'zod';

// Strict id patterns: ids reach virsh and file names on the spoke, so nothing else may pass.
export const CAPSUL_ID_PATTERN = /^capsul-[a-z0-9]{10}$/;
export const HOST_ID_PATTERN = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;
export const CATALOG_ID_PATTERN = /^[a-z0-9][a-z0-9._-]{0,63}$/;

export const capsulId = z.string().max(64).regex(CAPSUL_ID_PATTERN, 'a capsul id is "capsul-" and 10 lower-case letters or digits');
export const hostId = z
  .string()
  .max(63)
  .regex(HOST_ID_PATTERN, 'use 1 to 63 lower-case letters, digits and dashes, starting and ending with a letter or digit');
export const operationId = z.uuid();
/** Ids of catalog rows (OsImage, VmSize). */
export const catalogId = z.string().max(64).regex(CATALOG_ID_PATTERN, 'use 1 to 64 lower-case letters, digits, dots, dashes and underscores, starting with a letter or digit');
