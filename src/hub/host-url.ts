import { z } from 'zod';
import { env } from '~/env';

/** A spoke's base URL: https only, unless ALLOW_INSECURE_HTTP is set for development. No path, query or hash. */
export const hostUrl = z
  .url({ protocol: /^https?$/, message: 'must be an https:// URL' })
  .max(2048)
  .transform((u) => u.replace(/\/+$/, ''))
  .refine((u) => u.startsWith('https://') || env().ALLOW_INSECURE_HTTP, {
    message: 'must be https:// (plain http:// only with ALLOW_INSECURE_HTTP=true, for development)',
  })
  .refine((u) => !/[?#]/.test(u), { message: 'must not have a query or fragment' });
