'use client';
import { useQuery } from '@tanstack/react-query';
import { formatTime } from '~/components/format';
import { StateBadge } from '~/components/state-badge';
import { useTRPC } from '~/trpc/react';

export function DriftReport() {
  const trpc = useTRPC();
  const drift = useQuery({ ...trpc.drift.check.queryOptions(), staleTime: 0 });
  if (drift.error) return <p className="notice bad" role="alert">{drift.error.message}</p>;
  if (!drift.data) return <p className="muted">Asking every host…</p>;
  const d = drift.data;
  return (
    <>
      <div className="actions" style={{ alignItems: 'center' }}>
        <span className="muted">Checked {formatTime(d.checkedAt)}; hosts that answered: {d.answered.join(', ') || 'none'}.</span>
        <button type="button" className="secondary" onClick={() => drift.refetch()} disabled={drift.isFetching}>
          Check again
        </button>
      </div>
      {d.failed.length || d.offline.length ? (
        <p className="notice bad">
          Not checked: {[...d.failed.map((f) => `${f.hostId} (${f.reason})`), ...d.offline.map((o) => `${o.hostId} (offline)`)].join('; ')}
        </p>
      ) : null}

      <h2>In the database, not on their host ({d.missing.length})</h2>
      {d.missing.length ? (
        <table className="stack">
          <thead>
            <tr><th scope="col">Capsul</th><th scope="col">Owner</th><th scope="col">Host</th><th scope="col">State</th><th scope="col">Found on</th></tr>
          </thead>
          <tbody>
            {d.missing.map((m) => (
              <tr key={m.id}>
                <td data-label="Capsul" className="mono">{m.id}</td>
                <td data-label="Owner">{m.owner}</td>
                <td data-label="Host">{m.hostId}</td>
                <td data-label="State"><StateBadge state={m.state} /></td>
                <td data-label="Found on">{m.foundOn ?? 'nowhere'}</td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : <p className="muted">None.</p>}

      <h2>On a host, not in the database ({d.unknown.length})</h2>
      {d.unknown.length ? (
        <table className="stack">
          <thead>
            <tr><th scope="col">Domain</th><th scope="col">Host</th><th scope="col">State</th><th scope="col">Note</th></tr>
          </thead>
          <tbody>
            {d.unknown.map((u) => (
              <tr key={`${u.hostId}/${u.id}`}>
                <td data-label="Domain" className="mono">{u.id}</td>
                <td data-label="Host">{u.hostId}</td>
                <td data-label="State"><StateBadge state={u.state} /></td>
                <td data-label="Note">{u.deletedInDatabase ? 'deleted in the database' : 'unknown to the database'}</td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : <p className="muted">None.</p>}

      <h2>States that differ ({d.stateDiffers.length})</h2>
      {d.stateDiffers.length ? (
        <table className="stack">
          <thead>
            <tr><th scope="col">Capsul</th><th scope="col">Host</th><th scope="col">Database</th><th scope="col">Host says</th></tr>
          </thead>
          <tbody>
            {d.stateDiffers.map((s) => (
              <tr key={s.id}>
                <td data-label="Capsul" className="mono">{s.id}</td>
                <td data-label="Host">{s.hostId}</td>
                <td data-label="Database"><StateBadge state={s.database} /></td>
                <td data-label="Host says"><StateBadge state={s.host} /></td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : <p className="muted">None.</p>}
    </>
  );
}
