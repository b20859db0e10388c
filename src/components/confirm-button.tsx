'use client';
import { useRef, type ReactNode } from 'react';

/** A button that asks first, in a native <dialog> (focus trapped, Escape closes). */
export function ConfirmButton(props: { label: string; title: string; children: ReactNode; confirmLabel: string; onConfirm: () => void; disabled?: boolean }) {
  const dialog = useRef<HTMLDialogElement>(null);
  return (
    <>
      <button type="button" className="danger" disabled={props.disabled} onClick={() => dialog.current?.showModal()}>
        {props.label}
      </button>
      <dialog ref={dialog} aria-labelledby="confirm-title">
        <h2 id="confirm-title">{props.title}</h2>
        <div>{props.children}</div>
        <div className="actions" style={{ marginTop: '1rem' }}>
          <button type="button" className="secondary" autoFocus onClick={() => dialog.current?.close()}>
            Cancel
          </button>
          <button
            type="button"
            className="danger"
            onClick={() => {
              dialog.current?.close();
              props.onConfirm();
            }}
          >
            {props.confirmLabel}
          </button>
        </div>
      </dialog>
    </>
  );
}
