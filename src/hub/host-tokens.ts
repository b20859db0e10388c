// Each host's two credentials (PROTOCOL.md v1.1). The hub token, which the hub presents to that spoke (its
// HUB_TOKEN), is derived from the hub's HUB_SECRET, the host's id and its salt, so a database leak hands out
// none. The host token, which the spoke presents to the hub (SPOKE_HOST_TOKEN), is stored as its hash. Either
// rotates without downtime: the token before it keeps working for a window, and is forgotten once the new one
// has been seen to work.
import { env } from '~/env';
import { log } from '~/lib/log';
import { deriveHubToken, hashToken, newSalt, newToken, tokenMatchesHash } from '~/lib/tokens';
import type { Db } from './db/client';
import { hostsChanged, knownHosts } from './operations/hosts';

/** A previous salt that stands for the one HUB_TOKEN every spoke held before v1.1 (HUB_SHARED_TOKEN). */
const SHARED = 'shared';

export type HubTokenColumns = { id: string; hubTokenSalt: string; previousHubTokenSalt: string | null; previousHubTokenUntil: Date | null };
export type HostTokenColumns = { id: string; tokenHash: string; previousTokenHash: string | null; previousTokenUntil: Date | null };

export const HUB_TOKEN_COLUMNS = { id: true, hubTokenSalt: true, previousHubTokenSalt: true, previousHubTokenUntil: true } as const;
export const HOST_TOKEN_COLUMNS = { id: true, tokenHash: true, previousTokenHash: true, previousTokenUntil: true } as const;

/** A previous token counts until its deadline; none means until the new one works (only the upgrade's). */
function stillValid(until: Date | null, now = Date.now()): boolean {
  return until === null || until.getTime() > now;
}

function hubSecret(): string {
  const secret = env().HUB_SECRET;
  if (!secret) throw new Error('HUB_SECRET is not set: the hub has no token to present to any spoke');
  return secret;
}

// ---- the hub token ---------------------------------------------------------------------------------------

type Derived = { salt: string; current: string; previous?: string; previousUntil: Date | null };
// Keyed by the host snapshot's row objects: each host's tokens are derived once per snapshot, not per call.
const derived = new WeakMap<HubTokenColumns, Derived>();

function derive(host: HubTokenColumns): Derived {
  let tokens = derived.get(host);
  if (!tokens) {
    const secret = hubSecret();
    const previousSalt = host.previousHubTokenSalt;
    const previous =
      previousSalt === null ? undefined : previousSalt === SHARED ? env().HUB_SHARED_TOKEN : deriveHubToken(secret, host.id, previousSalt);
    tokens = { salt: host.hubTokenSalt, current: deriveHubToken(secret, host.id, host.hubTokenSalt), previous, previousUntil: host.previousHubTokenUntil };
    derived.set(host, tokens);
  }
  return tokens;
}

/** What the hub presents to one host: its hub token, and while a rotation is under way the one before it, with
 * what to call once the current one got through. */
export type PresentedTokens = { current: string; previous?: string; currentWorks?: () => void };

const forgetting = new Set<string>();

/** The hub's tokens for each host, from the host snapshot (a host it lacks is read from the database). */
export function hubTokenSource(db: Db): (hostId: string) => Promise<PresentedTokens> {
  return async (hostId) => {
    const host =
      (await knownHosts(db)).find((h) => h.id === hostId) ?? (await db.host.findUnique({ where: { id: hostId }, select: HUB_TOKEN_COLUMNS }));
    if (!host) throw new Error(`no host ${hostId}`);
    const tokens = derive(host);
    if (!tokens.previous || !stillValid(tokens.previousUntil)) return { current: tokens.current };
    return { current: tokens.current, previous: tokens.previous, currentWorks: () => forgetPreviousHubToken(db, hostId, tokens.salt) };
  };
}

/** The spoke took its current hub token: the rotation is done, the previous token is not presented again. */
function forgetPreviousHubToken(db: Db, hostId: string, salt: string): void {
  if (forgetting.has(`hub ${hostId}`)) return;
  forgetting.add(`hub ${hostId}`);
  // Only while `salt` is still the current one: a rotation made meanwhile keeps its own previous token.
  db.host
    .updateMany({ where: { id: hostId, hubTokenSalt: salt, previousHubTokenSalt: { not: null } }, data: { previousHubTokenSalt: null, previousHubTokenUntil: null } })
    .then(
      (r) => {
        if (r.count === 0) return;
        hostsChanged();
        log.info('hub token rotation done: the spoke took its new token; the previous one is forgotten', { hostId });
      },
      (err: unknown) => log.warn('could not forget a host\'s previous hub token (tried again on its next call)', { hostId, err }),
    )
    .finally(() => forgetting.delete(`hub ${hostId}`));
}

// ---- the host token (SPOKE_HOST_TOKEN) -------------------------------------------------------------------

/** Which of its tokens a host presented: the current one, the previous one within its window, or neither. */
export function matchHostToken(presented: string, host: HostTokenColumns): 'current' | 'previous' | undefined {
  if (tokenMatchesHash(presented, host.tokenHash)) return 'current';
  if (host.previousTokenHash && stillValid(host.previousTokenUntil) && tokenMatchesHash(presented, host.previousTokenHash)) return 'previous';
  return undefined;
}

/** The spoke presented its current token while a previous one was still accepted: that one is not any more. */
export function forgetPreviousHostToken(db: Db, host: HostTokenColumns): void {
  if (!host.previousTokenHash || forgetting.has(`host ${host.id}`)) return;
  forgetting.add(`host ${host.id}`);
  db.host
    .updateMany({ where: { id: host.id, tokenHash: host.tokenHash, previousTokenHash: { not: null } }, data: { previousTokenHash: null, previousTokenUntil: null } })
    .then(
      (r) => {
        if (r.count === 0) return;
        hostsChanged();
        log.info('host token rotation done: the spoke presents its new token; the previous one is refused from now on', { hostId: host.id });
      },
      (err: unknown) => log.warn('could not forget a host\'s previous token (tried again on its next call)', { hostId: host.id, err }),
    )
    .finally(() => forgetting.delete(`host ${host.id}`));
}

// ---- new tokens and rotations ----------------------------------------------------------------------------

/** A new host's credentials: its host token (the row keeps the hash) and its hub token (the row keeps the salt). */
export function newHostCredentials(hostId: string) {
  const token = newToken();
  const salt = newSalt();
  return { token, hubToken: deriveHubToken(hubSecret(), hostId, salt), data: { tokenHash: hashToken(token), hubTokenSalt: salt } };
}

/**
 * What stays valid next to a new token for `windowMs` (0: nothing). During a rotation still under way (the new
 * token never seen to work) the token before it is what the spoke most likely still holds: it stays, with its
 * deadline. Otherwise the current one becomes the previous.
 */
function keptPrevious(current: string, previous: string | null, until: Date | null, windowMs: number) {
  if (windowMs === 0) return { previous: null, until: null };
  if (previous !== null && stillValid(until)) return { previous, until };
  return { previous: current, until: new Date(Date.now() + windowMs) };
}

export function hubTokenRotation(host: HubTokenColumns, windowMs: number) {
  const salt = newSalt();
  const kept = keptPrevious(host.hubTokenSalt, host.previousHubTokenSalt, host.previousHubTokenUntil, windowMs);
  return {
    hubToken: deriveHubToken(hubSecret(), host.id, salt),
    previous: kept.previous === null ? null : { until: kept.until },
    data: { hubTokenSalt: salt, previousHubTokenSalt: kept.previous, previousHubTokenUntil: kept.until },
  };
}

export function hostTokenRotation(host: HostTokenColumns, windowMs: number) {
  const token = newToken();
  const kept = keptPrevious(host.tokenHash, host.previousTokenHash, host.previousTokenUntil, windowMs);
  return {
    token,
    previous: kept.previous === null ? null : { until: kept.until },
    data: { tokenHash: hashToken(token), previousTokenHash: kept.previous, previousTokenUntil: kept.until },
  };
}

/** For the host list: whether a host holds its own hub token, is between two, or still the shared one. */
export function hubTokenState(host: Pick<HubTokenColumns, 'previousHubTokenSalt' | 'previousHubTokenUntil'>): 'own' | 'rotating' | 'shared' {
  if (host.previousHubTokenSalt === SHARED) return 'shared';
  return host.previousHubTokenSalt !== null && stillValid(host.previousHubTokenUntil) ? 'rotating' : 'own';
}

export function hostTokenState(host: Pick<HostTokenColumns, 'previousTokenHash' | 'previousTokenUntil'>): 'own' | 'rotating' {
  return host.previousTokenHash !== null && stillValid(host.previousTokenUntil) ? 'rotating' : 'own';
}
