// One error shape for both tRPC servers (hub and spoke): a mistake in the input names each bad field in
// `data.issues` (zod's, and the ones a procedure raises with `fieldError`, the same way), an assignment failure
// carries each host's reason, and no error carries a stack trace. The message is the issues' sentences: it
// does not repeat the field names, which are in `data` for whoever shows the message next to its field.
import { TRPCClientError } from '@trpc/client';
import { TRPCError } from '@trpc/server';
import { ZodError } from 'zod';
import { installPlainMessages } from '~/contract/plain-messages';

installPlainMessages();

/** A bad field: its path in the input ("size", "sshAuthorizedKeys.0") and what is wrong, as a sentence. */
export type FieldIssue = { path: string; message: string };

/** "must be at least 64" → "Must be at least 64." */
export function sentence(text: string): string {
  const t = text.trim();
  if (!t) return t;
  return `${t[0]!.toUpperCase()}${t.slice(1)}${/[.!?…]$/.test(t) ? '' : '.'}`;
}

/** The cause of an error about one field of the input (see `fieldError`). */
export class FieldError extends Error {
  constructor(
    readonly path: string,
    message: string,
  ) {
    super(message);
  }
}

/**
 * The one way a procedure refuses a field: `fieldError('size', 'pick one of the sizes offered')`. The code is
 * BAD_REQUEST unless the refusal is of another kind (a CONFLICT for a name in use, FORBIDDEN for a limit).
 */
export function fieldError(path: string, message: string, code: TRPCError['code'] = 'BAD_REQUEST'): TRPCError {
  const text = sentence(message);
  return new TRPCError({ code, message: text, cause: new FieldError(path, text) });
}

/** The bad fields an error names (what a client reads `data.issues` for); empty for any other error. */
export function fieldIssues(error: unknown): FieldIssue[] {
  return ((error as { data?: { issues?: FieldIssue[] | null } } | undefined)?.data?.issues ?? []).filter((i) => typeof i?.path === 'string');
}

export type HostReason = { hostId: string; status: string; reason: string };

/** The cause of an error that names every host and why it could not do the work. */
export class HostsError extends Error {
  constructor(
    message: string,
    readonly hosts: HostReason[],
  ) {
    super(message);
  }
}

/** The tRPC code (`CONFLICT`, `NOT_FOUND`…) a server answered a client's call with; undefined for anything else. */
export function trpcErrorCode(err: unknown): string | undefined {
  return err instanceof TRPCClientError ? (err.data as { code?: string } | undefined)?.code : undefined;
}

export function formatError<Shape extends { message: string; data: object }>({ shape, error }: { shape: Shape; error: TRPCError }) {
  const issues: FieldIssue[] | null =
    error.cause instanceof ZodError
      ? error.cause.issues.map((i) => ({ path: i.path.join('.') || '(input)', message: sentence(i.message) }))
      : error.cause instanceof FieldError
        ? [{ path: error.cause.path, message: error.cause.message }]
        : null;
  const hosts = error.cause instanceof HostsError ? error.cause.hosts : null;
  // tRPC adds the stack when it thinks it runs in development (both servers also say `isDev: false`): it
  // names the server's files, and nobody calling an API needs it. The server's log has it.
  const { stack: _stack, ...data } = shape.data as Shape['data'] & { stack?: unknown };
  return {
    ...shape,
    // "Must be at least 64." rather than a JSON dump of the zod issues.
    message: issues ? issues.map((i) => i.message).join(' ') : shape.message,
    data: { ...data, issues, hosts },
  };
}
