'use client';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { ConfirmButton } from '~/components/confirm-button';
import { fieldErrors } from '~/components/errors';
import { controlProps, Field } from '~/components/field';
import { formatTime } from '~/components/format';
import { StateBadge } from '~/components/state-badge';
import { useTRPC } from '~/trpc/react';

/** Tokens just made, with what the spoke's environment needs; shown once. A new host's also carries the CA. */
type ShownTokens = { id: string; lines: string[]; note: string; warning?: string; ca?: string | null };

function TokenShownOnce({ id, lines, note, warning, ca, onDone }: ShownTokens & { onDone: () => void }) {
  return (
    <div className="notice good" role="status">
      <p>
        <strong>Tokens for {id}</strong> — shown only now. {note}
      </p>
      {warning ? <p className="error">{warning}</p> : null}
      <pre className="secret" data-testid="host-token">{lines.join('\n')}</pre>
      {ca ? (
        <>
          <p>The hub&apos;s CA, to save on the spoke as the file TLS_CA_FILE names:</p>
          <pre className="secret" data-testid="host-ca">{ca.trimEnd()}</pre>
        </>
      ) : null}
      <button type="button" className="secondary" onClick={onDone}>
        I have copied it
      </button>
    </div>
  );
}

/** What a rotation left valid: the previous token works until its deadline, or until the spoke uses the new one. */
function rotatedNote(previous: { until: Date | null } | null): string {
  const restart = 'Put it in the spoke\'s environment and restart the spoke';
  if (!previous) return `${restart}: its previous token stopped working.`;
  return `${restart}; until then its previous token keeps working${previous.until ? ` (at most until ${formatTime(previous.until)})` : ''}.`;
}

function HostRow({ host, onToken }: { host: { id: string; httpsUrl: string }; onToken: (t: ShownTokens) => void }) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const [editing, setEditing] = useState(false);
  const [url, setUrl] = useState(host.httpsUrl);
  const changed = () => queryClient.invalidateQueries({ queryKey: trpc.host.list.queryKey() });
  const update = useMutation(
    trpc.host.update.mutationOptions({
      onSuccess: (r) => {
        setEditing(false);
        if (r.token) onToken({ id: r.id, lines: [`SPOKE_HOST_TOKEN=${r.token}`], note: rotatedNote(r.previous) });
        void changed();
      },
    }),
  );
  const rotateHubToken = useMutation(
    trpc.host.rotateHubToken.mutationOptions({
      onSuccess: (r) => {
        onToken({ id: r.id, lines: [`HUB_TOKEN=${r.hubToken}`], note: rotatedNote(r.previous) });
        void changed();
      },
    }),
  );
  const remove = useMutation(trpc.host.remove.mutationOptions({ onSuccess: changed }));
  const errors = fieldErrors(update.error, update.variables, { httpsUrl: url });
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
          <Field id={`url-${host.id}`} label="HTTPS URL" error={errors.httpsUrl}>
            <input type="url" value={url} onChange={(e) => setUrl(e.target.value)} {...controlProps(`url-${host.id}`, errors.httpsUrl)} />
          </Field>
          {errors.form ? (
            <p className="error" role="alert">
              {errors.form}
            </p>
          ) : null}
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
            New host token
          </button>
          <button type="button" className="secondary" onClick={() => rotateHubToken.mutate({ id: host.id })}>
            New hub token
          </button>
          <ConfirmButton label="Remove" title={`Remove host ${host.id}?`} confirmLabel="Remove it" onConfirm={() => remove.mutate({ id: host.id })}>
            <p>Its spoke can no longer call the hub. Hosts with capsuls cannot be removed.</p>
          </ConfirmButton>
        </>
      )}
      {!editing && (remove.error ?? rotateHubToken.error ?? update.error) ? (
        <p className="error" role="alert">
          {(remove.error ?? rotateHubToken.error ?? update.error)?.message}
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
  const [token, setToken] = useState<ShownTokens | null>(null);
  const add = useMutation(
    trpc.host.add.mutationOptions({
      onSuccess: (r) => {
        const spoke = new URL(r.httpsUrl);
        setToken({
          id: r.id,
          lines: [
            'HUB_MODE=false',
            'SPOKE_MODE=true',
            `HUB_URL=${r.hubUrl}`,
            `SPOKE_HOST_ID=${r.id}`,
            `SPOKE_HOST_TOKEN=${r.token}`,
            `HUB_TOKEN=${r.hubToken}`,
            `SPOKE_URL=${r.httpsUrl}`,
            `SPOKE_PORT=${spoke.port || '443'}`,
            ...(r.ca ? ['TLS_CA_FILE=/etc/capsul/hub-ca.pem'] : []),
            `TLS_CERT_FILE=/etc/capsul/spoke.pem   # a certificate for ${spoke.hostname}, from a CA the hub trusts`,
            'TLS_KEY_FILE=/etc/capsul/spoke.key',
          ],
          note: `Give the spoke this environment (e.g. /etc/capsul/spoke.env): SPOKE_HOST_TOKEN is what it presents to the hub, HUB_TOKEN what it accepts from the hub, and from no one else. It also needs a certificate for ${spoke.hostname}; \`npm run capsul -- host join\` on the hub makes one and writes all of this to one file.`,
          warning: r.hubUrlIsLoopback
            ? `The hub's URL is ${r.hubUrl}: a spoke on another machine cannot reach it. Set PUBLIC_URL on the hub to an address the spoke can reach, and use that as HUB_URL.`
            : undefined,
          ca: r.ca,
        });
        setId('');
        setUrl('');
        void queryClient.invalidateQueries({ queryKey: trpc.host.list.queryKey() });
      },
    }),
  );
  const errors = fieldErrors(add.error, add.variables, { id, httpsUrl: url });

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
        <p className="muted" style={{ margin: 0 }}>
          Or, on the hub&apos;s machine, in one step (the host, its tokens, a certificate for its address signed by the
          hub&apos;s CA, and the whole environment in one file): <code>npm run capsul -- host join &lt;id&gt; &lt;address&gt; &gt; &lt;id&gt;.env</code>,
          then on the spoke <code>sudo scripts/join-spoke.sh &lt;id&gt;.env</code>.
        </p>
      </form>
    </>
  );
}
