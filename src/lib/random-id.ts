import { randomBytes } from 'node:crypto';

const ALPHABET = 'abcdefghijklmnopqrstuvwxyz0123456789';

/** `prefix` and 10 random lower-case letters or digits (capsul and snapshot ids: contract/ids.ts, change.ts). */
export function randomId(prefix: string): string {
  // 36 divides 252 evenly, so dropping bytes ≥ 252 keeps every character equally likely.
  const chars = [...randomBytes(32)].filter((b) => b < 252).slice(0, 10);
  if (chars.length < 10) return randomId(prefix);
  return `${prefix}${chars.map((b) => ALPHABET[b % 36]).join('')}`;
}
