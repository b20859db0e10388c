// One error shape for both tRPC servers (hub and spoke): input errors name each bad field, an assignment
// failure carries each host's reason, and no error carries a stack trace.
import { TRPCClientError } from '@trpc/client';
import type { TRPCError } from '@trpc/server';
import { ZodError } from 'zod';

export type FieldIssue = { path: string; message: string };

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
      ? error.cause.issues.map((i) => ({ path: i.path.join('.') || '(input)', message: i.message }))
      : null;
  const hosts = error.cause instanceof HostsError ? error.cause.hosts : null;
  // tRPC adds the stack when it thinks it runs in development (both servers also say `isDev: false`): it
  // names the server's files, and nobody calling an API needs it. The server's log has it.
  const { stack: _stack, ...data } = shape.data as Shape['data'] & { stack?: unknown };
  return {
    ...shape,
    // "memoryMb: Too small: expected number to be >=64" rather than a JSON dump of the zod issues.
    message: issues ? issues.map((i) => `${i.path}: ${i.message}`).join('; ') : shape.message,
    data: { ...data, issues, hosts },
  };
}
