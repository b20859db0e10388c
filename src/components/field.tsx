import type { ReactNode } from 'react';

/** A labelled control with its hint and error, wired for screen readers. */
export function Field(props: { id: string; label: string; error?: string; hint?: ReactNode; children: ReactNode }) {
  const { id, label, error, hint, children } = props;
  return (
    <div className="field">
      <label htmlFor={id}>{label}</label>
      {hint ? (
        <div className="hint" id={`${id}-hint`}>
          {hint}
        </div>
      ) : null}
      {children}
      {error ? (
        <p className="error" id={`${id}-error`} role="alert">
          {error}
        </p>
      ) : null}
    </div>
  );
}

/** Props for the control inside a Field: its id, and aria attributes pointing at the hint and error. */
export function controlProps(id: string, error?: string, hint?: boolean) {
  const describedBy = [hint ? `${id}-hint` : '', error ? `${id}-error` : ''].filter(Boolean).join(' ');
  return { id, name: id, 'aria-invalid': error ? true : undefined, 'aria-describedby': describedBy || undefined };
}
