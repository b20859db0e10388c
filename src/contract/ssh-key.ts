import { z } from 'zod';

const KEY_TYPES = [
  'ssh-ed25519',
  'ssh-rsa',
  'ecdsa-sha2-nistp256',
  'ecdsa-sha2-nistp384',
  'ecdsa-sha2-nistp521',
  'sk-ssh-ed25519@openssh.com',
  'sk-ecdsa-sha2-nistp256@openssh.com',
] as const;

export type ParsedSshKey = { type: string; body: string; comment: string };

/**
 * Parses one OpenSSH public key line ("type base64 [comment]"). The base64 body must decode to a blob that
 * starts with the same key type, which is what ssh itself checks; anything else is refused with the reason.
 */
export function parseSshPublicKey(line: string): ParsedSshKey | { error: string } {
  const parts = line.trim().split(/\s+/);
  const [type, body, ...rest] = parts;
  if (!type || !body) return { error: 'expected "<type> <base64 key> [comment]" on one line' };
  if (!(KEY_TYPES as readonly string[]).includes(type)) {
    return { error: `unsupported key type "${type.slice(0, 40)}" (use one of ${KEY_TYPES.join(', ')})` };
  }
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(body)) return { error: 'the key body is not base64' };
  // atob rather than Buffer: this module also runs in the browser, to check a key before it is sent.
  let blob: string;
  try {
    blob = atob(body);
  } catch {
    return { error: 'the key body is not valid base64' };
  }
  if (blob.length < 4) return { error: 'the key body is too short' };
  const nameLength = ((blob.charCodeAt(0) << 24) | (blob.charCodeAt(1) << 16) | (blob.charCodeAt(2) << 8) | blob.charCodeAt(3)) >>> 0;
  if (nameLength > blob.length - 4 || blob.slice(4, 4 + nameLength) !== type) {
    return { error: `the key body does not hold a ${type} key` };
  }
  const comment = rest.join(' ');
  if (/[^\x20-\x7e]/.test(comment)) return { error: 'the comment may hold only printable ASCII' };
  return { type, body, comment };
}

/** A single public key line, normalised to "type body [comment]". */
export const sshPublicKey = z
  .string()
  .max(16_384)
  .transform((line, ctx) => {
    if (/[\r\n]/.test(line.trim())) {
      ctx.addIssue({ code: 'custom', message: 'one key per line' });
      return z.NEVER;
    }
    const parsed = parseSshPublicKey(line);
    if ('error' in parsed) {
      ctx.addIssue({ code: 'custom', message: parsed.error });
      return z.NEVER;
    }
    return [parsed.type, parsed.body, parsed.comment].filter(Boolean).join(' ');
  });
