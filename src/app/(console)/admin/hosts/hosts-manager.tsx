'use client';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { ConfirmButton } from '~/components/confirm-button';
import { fieldErrors } from '~/components/errors';
import { controlProps, Field } from '~/components/field';
import { formatTime } from '~/components/format';
import { StateBadge } from '~/components/state-badge';
import { useTRPC } from '~/trpc/react';

/** A token is shown once, right after it is made, with the environment its spoke needs. */
function TokenShownOnce({ id, token, onDone }: { id: string; token: string; onDone: () => void }) {
  return (
    <div className="notice good" role="status">
      <p>
        <strong>Token for {id}</strong> — shown only now. Give the spoke this environment:
      </p>
      <pre className="secret" data-testid="host-token">{`SPOKE_HOST_ID=${id}\nSPOKE_HOST_TOKEN=${token}`}</pre>
      <button type="button" className="secondary" onClick={onDone}>
        I have copied it
      </button>
    </div>
  );
}

function HostRow({ host, onToken }: { host: { id: string; httpsUrl: string }; onToken: (t: { id: string; token: string }) => void }) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const [editing, setEditing] = useState(false);
  const [url, setUrl] = useState(host.httpsUrl);
  const changed = () => queryClient.invalidateQueries({ queryKey: trpc.host.list.queryKey() });
  const update = useMutation(
    trpc.host.update.mutationOptions({
      onSuccess: (r) => {
        setEditing(false);
        if (r.token) onToken({ id: r.id, token: r.token });
        void changed();
      },
    }),
  );
  const remove = useMutation(trpc.host.remove.mutationOptions({ onSuccess: changed }));
  const errors = fieldErrors(update.error, ['httpsUrl']);
  return (
    <div className="actions">
      {editing ? (
        <form
          className="stack"
          noValidate
          onSubmit={(e) => {
            e.preventDefault();
            update.mutate({ id: host.id, httpsUrl: url });
          }}
        >
          <Field id={`url-${host.id}`} label="HTTPS URL" error={errors.httpsUrl ?? errors.form}>
            <input type="url" value={url} onChange={(e) => setUrl(e.target.value)} {...controlProps(`url-${host.id}`, errors.httpsUrl)} />
          </Field>
          <div className="actions">
            <button type="submit">Save</button>
            <button type="button" className="secondary" onClick={() => setEditing(false)}>
              Cancel
            </button>
          </div>
        </form>
      ) : (
        <>
          <button type="button" className="secondary" onClick={() => setEditing(true)}>
            Edit
          </button>
          <button type="button" className="secondary" onClick={() => update.mutate({ id: host.id, rotateToken: true })}>
            New token
          </button>
          <ConfirmButton label="Remove" title={`Remove host ${host.id}?`} confirmLabel="Remove it" onConfirm={() => remove.mutate({ id: host.id })}>
            <p>Its spoke can no longer call the hub. Hosts with capsuls cannot be removed.</p>
          </ConfirmButton>
        </>
      )}
      {remove.error ? (
        <p className="error" role="alert">
          {remove.error.message}
        </p>
      ) : null}
    </div>
  );
}

export function HostsManager() {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  // Online state changes with heartbeats; look again every few seconds.
  const hosts = useQuery({ ...trpc.host.list.queryOptions(), refetchInterval: 2000 });
  const [id, setId] = useState('');
  const [url, setUrl] = useState('');
  const [token, setToken] = useState<{ id: string; token: string } | null>(null);
  const add = useMutation(
    trpc.host.add.mutationOptions({
      onSuccess: (r) => {
        setToken({ id: r.id, token: r.token });
        setId('');
        setUrl('');
        void queryClient.invalidateQueries({ queryKey: trpc.host.list.queryKey() });
      },
    }),
  );
  const errors = fieldErrors(add.error, ['id', 'httpsUrl']);

  return (
    <>
      {token ? <TokenShownOnce {...token} onDone={() => setToken(null)} /> : null}
      {hosts.data?.length ? (
        <table className="stack">
          <thead>
            <tr>
              <th scope="col">Host</th>
              <th scope="col">State</th>
              <th scope="col">Driver</th>
              <th scope="col">Last heartbeat</th>
              <th scope="col">Free</th>
              <th scope="col">Capsuls</th>
              <th scope="col">Actions</th>
            </tr>
          </thead>
          <tbody>
            {hosts.data.map((h) => (
              <tr key={h.id} data-host={h.id}>
                <td data-label="Host">
                  <strong>{h.id}</strong>
                  <br />
                  <span className="muted mono">{h.httpsUrl}</span>
                </td>
                <td data-label="State">
                  <StateBadge state={h.online ? 'online' : 'offline'} />
                  {h.lastError ? <div className="error">{h.lastError}</div> : null}
                </td>
                <td data-label="Driver">{h.driver === 'fake' ? 'fake (simulated VMs)' : (h.driver ?? '—')}</td>
                <td data-label="Last heartbeat">{formatTime(h.lastHealthCheck)}</td>
                <td data-label="Free">{h.freeMemoryMb === null ? '—' : `${h.freeMemoryMb} MiB · ${h.freeDiskGb} GiB`}</td>
                <td data-label="Capsuls">{h.capsuls}</td>
                <td data-label="Actions">
                  <HostRow host={h} onToken={setToken} />
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : (
        <p className="card empty">No hosts yet.</p>
      )}

      <h2>Add a host</h2>
      <form
        className="stack card"
        noValidate
        onSubmit={(e) => {
          e.preventDefault();
          add.mutate({ id, httpsUrl: url });
        }}
      >
        <Field id="host-id" label="Id" error={errors.id} hint="Lower-case letters, digits and dashes, e.g. rack1-node2.">
          <input type="text" value={id} onChange={(e) => setId(e.target.value)} {...controlProps('host-id', errors.id, true)} />
        </Field>
        <Field id="host-url" label="Spoke URL" error={errors.httpsUrl} hint="Where the hub reaches its spoke, e.g. https://10.0.0.2:8443.">
          <input type="url" value={url} onChange={(e) => setUrl(e.target.value)} {...controlProps('host-url', errors.httpsUrl, true)} />
        </Field>
        {errors.form ? (
          <p className="notice bad" role="alert">
            {errors.form}
          </p>
        ) : null}
        <div>
          <button type="submit" disabled={add.isPending}>
            Add host
          </button>
        </div>
      </form>
    </>
  );
}
