// Turns a tRPC error into one message per form field. The hub names each bad field in `data.issues` (zod's
// checks and the procedures' own `fieldError`, one shape); a message naming none of this form's fields, or an
// error naming no field at all, is for the whole form. Never both: a field's message is not repeated above.
import type { FieldIssue } from '~/lib/trpc-errors';

export type FieldErrors = Record<string, string> & { form?: string };

const same = (a: unknown, b: unknown) => JSON.stringify(a ?? null) === JSON.stringify(b ?? null);

/**
 * `sent`: what the failed call was given (a mutation's `variables`); `now`: the form's fields as they are now,
 * by the name the hub gives them. A field's message shows only while the field still holds what was sent, so
 * it goes away as soon as the person changes it.
 */
export function fieldErrors(error: unknown, sent: Record<string, unknown> | undefined, now: Record<string, unknown>): FieldErrors {
  if (!error) return {};
  const issues = (error as { data?: { issues?: FieldIssue[] | null } }).data?.issues ?? [];
  const fields = Object.keys(now);
  const out: FieldErrors = {};
  for (const issue of issues) {
    const field = fields.find((f) => issue.path === f || issue.path.startsWith(`${f}.`));
    if (!field) out.form ??= issue.message;
    else if (!out[field] && same(now[field], sent?.[field])) out[field] = issue.message;
  }
  if (issues.length === 0) out.form = errorText(error);
  return out;
}

/** A short, human sentence for errors that are not about one field. */
export function errorText(error: unknown): string | undefined {
  if (!error) return undefined;
  return (error as { message?: string }).message || 'Something went wrong.';
}
