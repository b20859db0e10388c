'use client';
// Grows the capsul to one of the larger catalog sizes, each with its price (with billing on) and whether its
// host has the room now.
import { useMutation, useQuery } from '@tanstack/react-query';
import { useState } from 'react';
import { fieldErrors } from '~/components/errors';
import { SizeChoices } from '~/components/size-choices';
import { formatMinor } from '~/hub/billing/money';
import { useTRPC } from '~/trpc/react';
import { ChangeStatus } from './change-status';
import type { Changes } from './use-changes';

export function ResizeCard({ id, changes }: { id: string; changes: Changes }) {
  const trpc = useTRPC();
  const options = useQuery(trpc.capsul.resizeOptions.queryOptions({ id }));
  const billing = useQuery(trpc.billing.status.queryOptions());
  const [size, setSize] = useState('');
  const resize = useMutation(
    trpc.capsul.resize.mutationOptions({
      onSuccess: () => setSize(''),
      onSettled: () => changes.refresh(),
    }),
  );
  const errors = fieldErrors(resize.error, resize.variables, { size });
  const busy = !!changes.running || resize.isPending;
  const currency = billing.data?.currency;
  const sizes = options.data ?? [];

  return (
    <section className="card" aria-labelledby="resize">
      <h3 id="resize" style={{ marginTop: 0 }}>
        Resize
      </h3>
      <ChangeStatus changes={changes} kinds={['resize']} />
      {options.data && !sizes.length ? (
        <p className="muted">This capsul has the largest size there is.</p>
      ) : (
        <form
          className="stack"
          noValidate
          onSubmit={(e) => {
            e.preventDefault();
            if (size) resize.mutate({ id, size });
          }}
        >
          <fieldset aria-describedby={errors.size ? 'resize-size-error' : 'resize-note'} disabled={busy}>
            <legend>Larger size</legend>
            <SizeChoices
              name="resize-size"
              sizes={sizes}
              value={size}
              onChange={setSize}
              disabled={(s) => !s.fits}
              extra={(s) => (
                <>
                  {s.monthlyMinor !== null && currency ? (
                    <>
                      <br />
                      <span>{formatMinor(s.monthlyMinor, currency)} a month</span>
                    </>
                  ) : null}
                  {s.fits ? null : (
                    <>
                      <br />
                      <span className="muted">No room on its host: {s.reason}</span>
                    </>
                  )}
                </>
              )}
            />
            {errors.size ? (
              <p className="error" id="resize-size-error" role="alert">
                {errors.size}
              </p>
            ) : null}
          </fieldset>
          <p className="muted" id="resize-note">
            A running capsul is stopped and started again to apply the new size; its disk grows, nothing on it is lost. A size cannot be made smaller again.
          </p>
          {errors.form ? (
            <p className="notice bad" role="alert">
              {errors.form}
            </p>
          ) : null}
          <div className="actions">
            <button type="submit" disabled={busy || !size}>
              {resize.isPending ? 'Starting the resize…' : 'Resize'}
            </button>
          </div>
        </form>
      )}
    </section>
  );
}
