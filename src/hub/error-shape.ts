// What the hub's errors tell whom. Admins (ADMIN_EMAILS accounts, the CLI's admin token) get every host's
// name and reason: they run the hosts. A member gets a plain sentence naming no host, no path and nothing
// of the hosts' internals; the reasons stay in the operations log. Nobody gets a stack trace, or the text
// of an internal error (it can name the hub's files); the hub's log has both.
import { TRPCError } from '@trpc/server';
import { formatError, HostsError, type HostReason } from '~/lib/trpc-errors';

const INTERNAL = 'the hub could not do this because of an error on its side; its log has the details';

export function formatHubError(opts: Parameters<typeof formatError>[0]) {
  const shape = formatError(opts);
  return opts.error.code === 'INTERNAL_SERVER_ERROR' ? { ...shape, message: INTERNAL } : shape;
}

// The spokes' own words (Spoke.offer and the drivers' imageProblem), read only to pick a sentence.
const imageMissing = (h: HostReason) => h.status === 'not_applicable' && h.reason.startsWith('image ');
const noRoom = (h: HostReason) => h.status === 'not_applicable' && h.reason.startsWith('not enough room');

function summary(code: TRPCError['code'], hosts: HostReason[]): string {
  if (hosts.length === 0) return 'No host is online right now. Try again in a few minutes, or tell the operator.';
  if (code === 'PRECONDITION_FAILED') {
    if (hosts.every(imageMissing)) return 'No host has this image right now. Pick another image, or tell the operator.';
    if (hosts.every(noRoom)) return 'No host has room for this size right now. Pick a smaller size, or try again later.';
    return 'No host could take this capsul right now. Try again later, or tell the operator.';
  }
  if (code === 'CONFLICT') return 'The hosts did not agree on which of them builds this capsul, so none does. Try again, or tell the operator.';
  return hosts.length === 1
    ? 'The host could not do this right now. Try again later, or tell the operator.'
    : 'No host could answer right now. Try again later, or tell the operator.';
}

/** The error a member sees: the same code, a summary instead of each host's reason. */
export function forMember(error: TRPCError): TRPCError {
  if (!(error.cause instanceof HostsError)) return error;
  return new TRPCError({ code: error.code, message: summary(error.code, error.cause.hosts) });
}

/**
 * A capsul's or an operation's stored error as a member sees it. The stored text is for admins: it names
 * hosts and carries their reasons (a build's failure can name the host's disk paths).
 */
export function storedErrorFor(actor: { isAdmin: boolean }, error: string | null): string | null {
  if (actor.isAdmin || error === null) return error;
  if (error.startsWith('no host could take it')) return 'no host could take it when it was asked';
  if (error.startsWith('conflict')) return 'the hosts did not agree on which of them builds it';
  return 'its host could not do it (an admin can see why)';
}
