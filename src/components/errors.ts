// Turns a tRPC error into messages per form field. The hub names the field either in `data.issues` (zod) or
// at the start of the message ("size: …"); anything else is a message for the whole form.
import type { TRPCClientErrorLike } from '@trpc/client';
import type { HubRouter } from '~/hub/root';

export type FieldErrors = Record<string, string> & { form?: string };

export function fieldErrors(error: unknown, fields: string[]): FieldErrors {
  if (!error) return {};
  const e = error as TRPCClientErrorLike<HubRouter>;
  const out: FieldErrors = {};
  const issues = (e.data as { issues?: { path: string; message: string }[] } | undefined)?.issues;
  for (const issue of issues ?? []) {
    const field = fields.find((f) => issue.path === f || issue.path.startsWith(`${f}.`));
    if (field && !out[field]) out[field] = issue.message;
    else out.form ??= `${issue.path}: ${issue.message}`;
  }
  if (!issues?.length) {
    const match = /^([A-Za-z]+): (.*)$/s.exec(e.message ?? '');
    if (match && fields.includes(match[1]!)) out[match[1]!] = match[2]!;
    else out.form = e.message || 'something went wrong';
  }
  return out;
}

/** A short, human sentence for errors that are not about one field. */
export function errorText(error: unknown): string | undefined {
  if (!error) return undefined;
  return (error as { message?: string }).message ?? 'something went wrong';
}
