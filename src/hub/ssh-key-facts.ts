// What `ssh-keygen -l` says about a public key, so people can tell their keys apart and match them with the
// key on their machine: "256 SHA256:… comment (ED25519)" (bits, fingerprint, comment, type). Computed from
// the key blob, the base64 body of a line that src/contract/ssh-key.ts has checked already.
import { createHash } from 'node:crypto';

export type SshKeyFacts = { type: string; bits: number; fingerprint: string; comment: string; summary: string };

// ssh-keygen's names for each key type.
const TYPE_NAMES: Record<string, string> = {
  'ssh-ed25519': 'ED25519',
  'ssh-rsa': 'RSA',
  'ecdsa-sha2-nistp256': 'ECDSA',
  'ecdsa-sha2-nistp384': 'ECDSA',
  'ecdsa-sha2-nistp521': 'ECDSA',
  'sk-ssh-ed25519@openssh.com': 'ED25519-SK',
  'sk-ecdsa-sha2-nistp256@openssh.com': 'ECDSA-SK',
};

/** The blob's fields: each a 32-bit big-endian length and that many bytes (RFC 4253, section 6.6). */
function fields(blob: Buffer): Buffer[] {
  const out: Buffer[] = [];
  for (let at = 0; at + 4 <= blob.length; ) {
    const length = blob.readUInt32BE(at);
    out.push(blob.subarray(at + 4, at + 4 + length));
    at += 4 + length;
  }
  return out;
}

/** The number of significant bits of a positive big-endian integer (an RSA modulus, an mpint). */
function bitLength(n: Buffer): number {
  let i = 0;
  while (i < n.length && n[i] === 0) i++;
  return i === n.length ? 0 : (n.length - i - 1) * 8 + (32 - Math.clz32(n[i]!));
}

function bitsOf(type: string, blob: Buffer): number {
  if (type === 'ssh-rsa') return bitLength(fields(blob)[2] ?? Buffer.alloc(0)); // type, e, n
  const curve = /nistp(\d+)/.exec(type);
  if (curve) return Number(curve[1]);
  return 256; // ed25519, with or without a security key
}

export function sshKeyFacts(content: string): SshKeyFacts {
  const [type = '', body = '', ...rest] = content.trim().split(/\s+/);
  const blob = Buffer.from(body, 'base64');
  const fingerprint = `SHA256:${createHash('sha256').update(blob).digest('base64').replace(/=+$/, '')}`;
  const comment = rest.join(' ');
  const name = TYPE_NAMES[type] ?? type;
  const bits = bitsOf(type, blob);
  return { type: name, bits, fingerprint, comment, summary: `${bits} ${fingerprint} ${comment || 'no comment'} (${name})` };
}
