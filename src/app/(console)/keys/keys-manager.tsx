'use client';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { ConfirmButton } from '~/components/confirm-button';
import { fieldErrors } from '~/components/errors';
import { controlProps, Field } from '~/components/field';
import { formatTime } from '~/components/format';
import { useTRPC } from '~/trpc/react';

export function KeysManager() {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const keys = useQuery(trpc.sshKey.list.queryOptions());
  const [name, setName] = useState('');
  const [content, setContent] = useState('');
  const changed = () => queryClient.invalidateQueries({ queryKey: trpc.sshKey.list.queryKey() });
  const add = useMutation(
    trpc.sshKey.add.mutationOptions({
      onSuccess: () => {
        setName('');
        setContent('');
        void changed();
      },
    }),
  );
  const remove = useMutation(trpc.sshKey.remove.mutationOptions({ onSuccess: changed }));
  const errors = fieldErrors(add.error, add.variables, { name, content });

  return (
    <>
      {keys.data?.length ? (
        <table className="stack">
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Key (as ssh-keygen -l shows it)</th>
              <th scope="col">Added</th>
              <th scope="col">
                <span className="skip">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {keys.data.map((k) => (
              <tr key={k.id}>
                <td data-label="Name">{k.name}</td>
                <td data-label="Key" className="mono" style={{ overflowWrap: 'anywhere' }} title={k.content}>
                  {k.summary}
                </td>
                <td data-label="Added">{formatTime(k.createdAt)}</td>
                <td>
                  <ConfirmButton label="Remove" title={`Remove the key "${k.name}"?`} confirmLabel="Remove it" onConfirm={() => remove.mutate({ id: k.id })}>
                    <p>Capsuls made with it keep it; new ones will not get it.</p>
                  </ConfirmButton>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : (
        <p className="card empty">No keys yet.</p>
      )}

      <h2>Add a key</h2>
      <form
        className="stack card"
        noValidate
        onSubmit={(e) => {
          e.preventDefault();
          add.mutate({ name, content });
        }}
      >
        <Field id="name" label="Name" error={errors.name} hint="To tell your keys apart, e.g. laptop.">
          <input type="text" value={name} onChange={(e) => setName(e.target.value)} {...controlProps('name', errors.name, true)} />
        </Field>
        <Field id="content" label="Public key" error={errors.content} hint="One line, as in ~/.ssh/id_ed25519.pub.">
          <textarea value={content} onChange={(e) => setContent(e.target.value)} spellCheck={false} {...controlProps('content', errors.content, true)} />
        </Field>
        {errors.form ? (
          <p className="notice bad" role="alert">
            {errors.form}
          </p>
        ) : null}
        <div>
          <button type="submit" disabled={add.isPending}>
            {add.isPending ? 'Adding…' : 'Add key'}
          </button>
        </div>
      </form>
    </>
  );
}
