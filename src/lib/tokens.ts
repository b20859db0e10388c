import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

/** A new bearer token: 32 random bytes, base64url (43 characters). */
export function newToken(): string {
  return randomBytes(32).toString('base64url');
}

export function hashToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

/** Constant-time comparison; comparing digests keeps the lengths equal whatever was presented. */
export function tokenMatches(presented: string, expected: string): boolean {
  return timingSafeEqual(Buffer.from(hashToken(presented), 'hex'), Buffer.from(hashToken(expected), 'hex'));
}

/** Constant-time check of a presented token against a stored SHA-256 hex digest. */
export function tokenMatchesHash(presented: string, expectedHash: string): boolean {
  const expected = Buffer.from(expectedHash, 'hex');
  const actual = Buffer.from(hashToken(presented), 'hex');
  return expected.length === actual.length && timingSafeEqual(expected, actual);
}

/** The token from an `Authorization: Bearer <token>` header, or undefined. */
export function bearerToken(header: string | null | undefined): string | undefined {
  const match = /^Bearer ([A-Za-z0-9._~+/=-]{1,512})$/.exec(header ?? '');
  return match?.[1];
}

/** A host's hub-token salt: random, not secret by itself (the token also needs the hub's secret). */
export function newSalt(): string {
  return randomBytes(16).toString('base64url');
}

/**
 * The bearer token the hub presents to one host (that spoke's HUB_TOKEN): an HMAC of the host's id and salt
 * under the hub's own secret. Each host's differs, and a new salt (a rotation) makes a new one.
 */
export function deriveHubToken(hubSecret: string, hostId: string, salt: string): string {
  return createHmac('sha256', hubSecret).update(`capsul hub token v1:${hostId}:${salt}`).digest('base64url');
}

/**
 * The salt of a host that was never given one: the combined process's own host (its token is derived at
 * start, before the database opens, see src/bootstrap.ts) and hosts from before per-host hub tokens. The
 * default of `Host.hubTokenSalt` in prisma/schema.prisma.
 */
export const INITIAL_HUB_TOKEN_SALT = 'initial';
