'use client';
// A new disk from an image with the chosen keys: everything on the old disk and every snapshot goes; the
// capsul keeps its id, name and address. Confirmed by typing the capsul's name.
import { useMutation, useQuery } from '@tanstack/react-query';
import { useState } from 'react';
import { fieldErrors } from '~/components/errors';
import { controlProps, Field } from '~/components/field';
import { KeyPicker } from '~/components/key-picker';
import { useTRPC } from '~/trpc/react';
import { ChangeStatus } from './change-status';
import type { Changes } from './use-changes';

type Capsul = { id: string; name: string; image: string; ipv4: string | null; ipv6: string | null };

export function RebuildCard({ capsul, changes }: { capsul: Capsul; changes: Changes }) {
  const trpc = useTRPC();
  const catalog = useQuery(trpc.catalog.list.queryOptions());
  const keys = useQuery(trpc.sshKey.list.queryOptions());
  const [image, setImage] = useState<string | undefined>(undefined);
  const [keyIds, setKeyIds] = useState<string[]>([]);
  const [confirm, setConfirm] = useState('');
  const rebuild = useMutation(
    trpc.capsul.rebuild.mutationOptions({
      onSuccess: () => setConfirm(''),
      onSettled: () => changes.refresh(),
    }),
  );
  const picked = image ?? capsul.image;
  const errors = fieldErrors(rebuild.error, rebuild.variables, { image: picked, sshKeyIds: keyIds, confirm });
  const busy = !!changes.running || rebuild.isPending;
  const snapshots = changes.snapshots?.snapshots.length ?? 0;
  const address = capsul.ipv4 ?? capsul.ipv6;

  return (
    <section className="card" aria-labelledby="rebuild">
      <h3 id="rebuild" style={{ marginTop: 0 }}>
        Rebuild
      </h3>
      <ChangeStatus changes={changes} kinds={['rebuild']} />
      <form
        className="stack"
        noValidate
        onSubmit={(e) => {
          e.preventDefault();
          rebuild.mutate({ id: capsul.id, image: picked, sshKeyIds: keyIds, confirm });
        }}
      >
        <p id="rebuild-consequence">
          The capsul gets a new disk from the image you pick. <strong>Everything on its disk now is gone</strong>, and so are all its snapshots
          {snapshots ? ` (${snapshots})` : ''}. It keeps its id, its name and its address{address ? ` (${address})` : ''}.
        </p>
        <Field id="rebuild-image" label="Image" error={errors.image}>
          <select value={picked} onChange={(e) => setImage(e.target.value)} disabled={busy} {...controlProps('rebuild-image', errors.image)}>
            {(catalog.data?.images ?? []).map((i) => (
              <option key={i.id} value={i.id} disabled={!!i.unavailable}>
                {i.name}
                {i.id === capsul.image ? ' (the one it has now)' : ''}
                {i.unavailable ? ` — unavailable: ${i.unavailable}` : ''}
              </option>
            ))}
          </select>
        </Field>
        <KeyPicker id="rebuild-keys" keys={keys.data} value={keyIds} onChange={setKeyIds} error={errors.sshKeyIds} disabled={busy} />
        <Field id="rebuild-confirm" label={`Type ${capsul.name} to confirm`} error={errors.confirm}>
          <input
            type="text"
            value={confirm}
            onChange={(e) => setConfirm(e.target.value)}
            autoComplete="off"
            spellCheck={false}
            disabled={busy}
            {...controlProps('rebuild-confirm', errors.confirm)}
            aria-describedby={['rebuild-consequence', errors.confirm ? 'rebuild-confirm-error' : ''].filter(Boolean).join(' ')}
          />
        </Field>
        {errors.form ? (
          <p className="notice bad" role="alert">
            {errors.form}
          </p>
        ) : null}
        <div className="actions">
          <button type="submit" className="danger" disabled={busy || confirm !== capsul.name}>
            {rebuild.isPending ? 'Starting the rebuild…' : 'Rebuild'}
          </button>
        </div>
      </form>
    </section>
  );
}
