'use client';
// The capsul's snapshots (a linear chain, newest first): take one, revert to one (those taken after it go),
// delete one.
import { useMutation } from '@tanstack/react-query';
import { useState } from 'react';
import { ConfirmButton } from '~/components/confirm-button';
import { fieldErrors } from '~/components/errors';
import { controlProps, Field } from '~/components/field';
import { formatBytes, formatTime } from '~/components/format';
import { useTRPC } from '~/trpc/react';
import { ChangeStatus } from './change-status';
import type { Changes } from './use-changes';

const plural = (n: number, one: string, many: string) => `${n} ${n === 1 ? one : many}`;

function TakeSnapshot({ id, changes, full }: { id: string; changes: Changes; full: boolean }) {
  const trpc = useTRPC();
  const [name, setName] = useState('');
  const [note, setNote] = useState('');
  const take = useMutation(
    trpc.snapshot.create.mutationOptions({
      onSuccess: () => {
        setName('');
        setNote('');
      },
      onSettled: () => changes.refresh(),
    }),
  );
  const sent = { name: name.trim(), note: note.trim() || undefined };
  const errors = fieldErrors(take.error, take.variables, sent);
  const busy = !!changes.running || take.isPending;
  return (
    <form
      className="stack"
      noValidate
      onSubmit={(e) => {
        e.preventDefault();
        take.mutate({ capsulId: id, ...sent });
      }}
    >
      <h4 style={{ margin: 0 }}>Take a snapshot</h4>
      <Field id="snapshot-name" label="Snapshot name" error={errors.name} hint="Letters, digits, “.”, “_” and “-”.">
        <input type="text" value={name} onChange={(e) => setName(e.target.value)} autoComplete="off" {...controlProps('snapshot-name', errors.name, true)} />
      </Field>
      <Field id="snapshot-note" label="Note (optional)" error={errors.note}>
        <input type="text" value={note} onChange={(e) => setNote(e.target.value)} autoComplete="off" {...controlProps('snapshot-note', errors.note)} />
      </Field>
      {errors.form ? (
        <p className="notice bad" role="alert">
          {errors.form}
        </p>
      ) : null}
      {full ? <p className="muted">This capsul keeps as many snapshots as it may: delete one to take another.</p> : null}
      <div className="actions">
        <button type="submit" disabled={busy}>
          {take.isPending ? 'Starting…' : 'Take snapshot'}
        </button>
      </div>
    </form>
  );
}

export function SnapshotsCard({ id, changes }: { id: string; changes: Changes }) {
  const trpc = useTRPC();
  const revert = useMutation(trpc.snapshot.revert.mutationOptions({ onSettled: () => changes.refresh() }));
  const remove = useMutation(trpc.snapshot.delete.mutationOptions({ onSettled: () => changes.refresh() }));
  const list = changes.snapshots;
  const snapshots = list?.snapshots ?? [];
  const busy = !!changes.running || revert.isPending || remove.isPending;
  const error = revert.error ?? remove.error;

  return (
    <section className="card" aria-labelledby="snapshots">
      <h3 id="snapshots" style={{ marginTop: 0 }}>
        Snapshots
      </h3>
      <ChangeStatus changes={changes} kinds={['snapshotCreate', 'snapshotRevert', 'snapshotDelete']} />
      {list ? (
        <p className="muted" data-testid="snapshot-count">
          {snapshots.length} of {list.limit} snapshots, {formatBytes(list.totalBytes)} in all.
        </p>
      ) : null}
      {snapshots.length ? (
        <table className="stack">
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Note</th>
              <th scope="col">Taken</th>
              <th scope="col">Size</th>
              <th scope="col">Actions</th>
            </tr>
          </thead>
          <tbody>
            {snapshots.map((s, i) => (
              <tr key={s.id} data-snapshot={s.name}>
                <td data-label="Name">{s.name}</td>
                <td data-label="Note">{s.note ?? ''}</td>
                <td data-label="Taken">{s.state === 'taking' ? 'taking…' : formatTime(s.takenAt)}</td>
                <td data-label="Size">{s.bytes === null ? '—' : formatBytes(s.bytes)}</td>
                <td data-label="Actions">
                  <div className="actions">
                    <ConfirmButton
                      label="Revert"
                      ariaLabel={`Revert to ${s.name}`}
                      title={`Revert to ${s.name}?`}
                      confirmLabel="Revert"
                      disabled={busy || s.state !== 'ready'}
                      onConfirm={() => revert.mutate({ capsulId: id, snapshotId: s.id })}
                    >
                      <p>
                        The disk goes back to how it was at {formatTime(s.takenAt)}. The current disk
                        {i ? ` and the ${plural(i, 'snapshot', 'snapshots')} taken after this one (${snapshots.slice(0, i).map((x) => x.name).join(', ')})` : ''} will be gone. A running capsul
                        is stopped and started again.
                      </p>
                    </ConfirmButton>
                    <ConfirmButton
                      label="Delete"
                      ariaLabel={`Delete ${s.name}`}
                      title={`Delete snapshot ${s.name}?`}
                      confirmLabel="Delete it"
                      disabled={busy || s.state !== 'ready'}
                      onConfirm={() => remove.mutate({ capsulId: id, snapshotId: s.id })}
                    >
                      <p>The snapshot is removed from the host; the capsul&apos;s disk as it is now stays. This cannot be undone.</p>
                    </ConfirmButton>
                  </div>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : list ? (
        <p className="muted">No snapshots yet.</p>
      ) : null}
      {error ? (
        <p className="notice bad" role="alert" style={{ marginTop: '1rem' }}>
          {error.message}
        </p>
      ) : null}
      <div style={{ marginTop: '1rem' }}>
        <TakeSnapshot id={id} changes={changes} full={!!list && snapshots.length >= list.limit} />
      </div>
    </section>
  );
}
