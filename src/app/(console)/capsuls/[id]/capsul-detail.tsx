'use client';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import Link from 'next/link';
import { useRouter } from 'next/navigation';
import { ConfirmButton } from '~/components/confirm-button';
import { CopyText } from '~/components/copy-button';
import { formatDuration, formatSize, formatTime } from '~/components/format';
import { StateBadge } from '~/components/state-badge';
import type { VmCommand } from '~/contract/capsul';
import { useTRPC } from '~/trpc/react';

const COMMANDS: { command: VmCommand; label: string; when: (state: string) => boolean }[] = [
  { command: 'start', label: 'Start', when: (s) => s === 'stopped' || s === 'crashed' },
  { command: 'stop', label: 'Stop', when: (s) => s === 'running' },
  { command: 'forceStop', label: 'Force stop', when: (s) => s === 'running' || s === 'shutting_down' || s === 'paused' },
  { command: 'restart', label: 'Restart', when: (s) => s === 'running' },
];

export function CapsulDetail({ id }: { id: string }) {
  const trpc = useTRPC();
  const router = useRouter();
  const queryClient = useQueryClient();
  const capsul = useQuery(trpc.capsul.byId.queryOptions({ id }));
  const operations = useQuery(trpc.capsul.operations.queryOptions({ id }));
  const refresh = () => queryClient.invalidateQueries({ queryKey: trpc.capsul.operations.queryKey({ id }) });
  const setState = useMutation(trpc.capsul.setState.mutationOptions({ onSettled: refresh }));
  const destroy = useMutation(
    trpc.capsul.destroy.mutationOptions({
      onSuccess: () => {
        void queryClient.invalidateQueries({ queryKey: trpc.capsul.list.queryKey() });
        router.push('/capsuls');
      },
      onSettled: refresh,
    }),
  );
  if (!capsul.data) return <p className="muted">Loading…</p>;
  const c = capsul.data;
  const busy = setState.isPending || destroy.isPending;
  const error = setState.error ?? destroy.error;

  return (
    <>
      <div className="header-row">
        <h1 className="mono">{c.id}</h1>
        <span aria-live="polite" data-testid="capsul-state">
          <StateBadge state={c.state} />
        </span>
      </div>
      <div className="grid">
        <section className="card" aria-labelledby="facts">
          <h2 id="facts" style={{ marginTop: 0 }}>
            Details
          </h2>
          <dl className="facts">
            <dt>Address</dt>
            <dd className="mono" data-testid="capsul-address">{c.ipv4 ?? c.ipv6 ?? (c.state === 'creating' || c.state === 'pending' ? 'being assigned…' : '—')}</dd>
            {c.ipv4 && c.ipv6 ? (
              <>
                <dt>IPv6</dt>
                <dd className="mono">{c.ipv6}</dd>
              </>
            ) : null}
            <dt>Size</dt>
            <dd>{formatSize(c)}</dd>
            <dt>Image</dt>
            <dd>{c.imageName}</dd>
            <dt>Created</dt>
            <dd>{formatTime(c.createdAt)}</dd>
            {c.error ? (
              <>
                <dt>Error</dt>
                <dd className="error">{c.error}</dd>
              </>
            ) : null}
          </dl>
          {c.ipv4 || c.ipv6 ? (
            <div style={{ marginTop: '1rem' }}>
              <div className="muted">Log in with</div>
              <CopyText text={`ssh ${c.loginUser}@${c.ipv4 ?? c.ipv6}`} label="ssh command" />
            </div>
          ) : null}
        </section>
        <section className="card" aria-labelledby="power">
          <h2 id="power" style={{ marginTop: 0 }}>
            Power
          </h2>
          <div className="actions">
            {COMMANDS.map(({ command, label, when }) => (
              <button key={command} type="button" className="secondary" disabled={busy || !when(c.state)} onClick={() => setState.mutate({ id, command })}>
                {label}
              </button>
            ))}
          </div>
          <h2>Delete</h2>
          <ConfirmButton
            label="Delete capsul"
            title={`Delete ${c.id}?`}
            confirmLabel="Delete it"
            disabled={busy || c.state === 'creating' || c.state === 'pending'}
            onConfirm={() => destroy.mutate({ id })}
          >
            <p>The VM and its disk are destroyed. This cannot be undone.</p>
          </ConfirmButton>
          {error ? (
            <p className="notice bad" role="alert" style={{ marginTop: '1rem' }}>
              {error.message}
            </p>
          ) : null}
        </section>
      </div>

      <h2>Operations</h2>
      {operations.data?.length ? (
        <table className="stack">
          <thead>
            <tr>
              <th scope="col">When</th>
              <th scope="col">Operation</th>
              <th scope="col">State</th>
              <th scope="col">Took</th>
              <th scope="col">Error</th>
            </tr>
          </thead>
          <tbody>
            {operations.data.map((o) => (
              <tr key={o.id}>
                <td data-label="When">{formatTime(o.createdAt)}</td>
                <td data-label="Operation">{o.kind === 'vmState' ? 'power' : o.kind}</td>
                <td data-label="State">
                  <StateBadge state={o.state} />
                </td>
                <td data-label="Took">{formatDuration(o.createdAt, o.completedAt)}</td>
                <td data-label="Error" className="error">
                  {o.error ?? ''}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : (
        <p className="muted">None yet.</p>
      )}
      <p>
        <Link href="/capsuls">← All your capsuls</Link>
      </p>
    </>
  );
}
