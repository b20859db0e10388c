'use client';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { formatTime } from '~/components/format';
import { StateBadge } from '~/components/state-badge';
import { useTRPC } from '~/trpc/react';

type Missing = { id: string; name?: string; hostId: string; state: string; owner: string; foundOn: string | null };
type Unknown = { id: string; hostId: string; state: string; deletedInDatabase: boolean };
type Differs = { id: string; name?: string; hostId: string; database: string; host: string };
type Failed = { hostId: string; status: string; reason: string };

export function DriftReport() {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const latest = useQuery({ ...trpc.drift.latest.queryOptions(), refetchInterval: 30_000 });
  const check = useMutation(trpc.drift.check.mutationOptions({ onSuccess: (r) => queryClient.setQueryData(trpc.drift.latest.queryKey(), r) }));
  const d = latest.data;
  return (
    <>
      <div className="actions" style={{ alignItems: 'center' }}>
        <span className="muted">
          {d ? `Last compared ${formatTime(d.finishedAt)} (${d.actor === 'system' ? 'periodic' : d.actor}); hosts that answered: ${(d.answered as string[]).join(', ') || 'none'}.` : 'Not compared yet.'}
        </span>
        <button type="button" className="secondary" onClick={() => check.mutate()} disabled={check.isPending}>
          {check.isPending ? 'Asking every host…' : 'Compare now'}
        </button>
      </div>
      {check.error ? <p className="notice bad" role="alert">{check.error.message}</p> : null}
      {d ? <Report missing={d.missing as Missing[]} unknown={d.unknown as Unknown[]} stateDiffers={d.stateDiffers as Differs[]} failed={d.failed as Failed[]} /> : null}
    </>
  );
}

function Report({ missing, unknown, stateDiffers, failed }: { missing: Missing[]; unknown: Unknown[]; stateDiffers: Differs[]; failed: Failed[] }) {
  return (
    <>
      {failed.length ? <p className="notice bad">Not checked: {failed.map((f) => `${f.hostId} (${f.reason})`).join('; ')}</p> : null}

      <h2>In the database, not on their host ({missing.length})</h2>
      {missing.length ? (
        <table className="stack">
          <thead>
            <tr><th scope="col">Capsul</th><th scope="col">Owner</th><th scope="col">Host</th><th scope="col">State</th><th scope="col">Found on</th></tr>
          </thead>
          <tbody>
            {missing.map((m) => (
              <tr key={m.id}>
                <td data-label="Capsul">{m.name ? <div>{m.name}</div> : null}<span className="mono">{m.id}</span></td>
                <td data-label="Owner">{m.owner}</td>
                <td data-label="Host">{m.hostId}</td>
                <td data-label="State"><StateBadge state={m.state} /></td>
                <td data-label="Found on">{m.foundOn ?? 'nowhere'}</td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : <p className="muted">None.</p>}

      <h2>On a host, not in the database ({unknown.length})</h2>
      {unknown.length ? (
        <table className="stack">
          <thead>
            <tr><th scope="col">Domain</th><th scope="col">Host</th><th scope="col">State</th><th scope="col">Note</th></tr>
          </thead>
          <tbody>
            {unknown.map((u) => (
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

      <h2>States that differ ({stateDiffers.length})</h2>
      {stateDiffers.length ? (
        <table className="stack">
          <thead>
            <tr><th scope="col">Capsul</th><th scope="col">Host</th><th scope="col">Database</th><th scope="col">Host says</th></tr>
          </thead>
          <tbody>
            {stateDiffers.map((s) => (
              <tr key={s.id}>
                <td data-label="Capsul">{s.name ? <div>{s.name}</div> : null}<span className="mono">{s.id}</span></td>
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
