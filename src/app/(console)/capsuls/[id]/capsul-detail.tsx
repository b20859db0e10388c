'use client';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import Link from 'next/link';
import { useRouter } from 'next/navigation';
import { useEffect, useState } from 'react';
import { ConfirmButton } from '~/components/confirm-button';
import { CopyText } from '~/components/copy-button';
import { fieldErrors } from '~/components/errors';
import { controlProps, Field } from '~/components/field';
import { formatDuration, formatSize, formatTime } from '~/components/format';
import { OperationStateBadge, StateBadge } from '~/components/state-badge';
import type { VmCommand } from '~/contract/capsul';
import { createStep, type CreateStep } from '~/contract/hub';
import { useTRPC } from '~/trpc/react';
import { ChangesArea } from './changes-area';
import { ConsoleCard } from './console-card';
import { UsageCard } from './usage-card';

const COMMANDS: { command: VmCommand; label: string; doing: string; when: (state: string) => boolean }[] = [
  { command: 'start', label: 'Start', doing: 'starting', when: (s) => s === 'stopped' || s === 'crashed' },
  { command: 'stop', label: 'Stop', doing: 'stopping: asking the guest to shut down', when: (s) => s === 'running' },
  { command: 'forceStop', label: 'Force stop', doing: 'force stopping', when: (s) => s === 'running' || s === 'shutting_down' || s === 'paused' },
  { command: 'restart', label: 'Restart', doing: 'restarting', when: (s) => s === 'running' },
];

const STEP_LABELS: Record<CreateStep, string> = {
  assigned: 'Assigned to a host',
  disk: 'Disk',
  seed: 'Cloud-init seed',
  defined: 'VM defined',
  booting: 'Booting',
  address: 'Address',
};

/** What the status line says while a step is under way. */
const STEP_DOING: Record<CreateStep, string> = {
  assigned: 'assigned to a host',
  disk: 'making its disk',
  seed: 'writing its cloud-init seed',
  defined: 'defining the VM',
  booting: 'booting',
  address: 'waiting for its address',
};

/** How often the page asks the host again while a guest is shutting down, and for how long at most. */
const SHUTDOWN_CHECK_MS = 5000;
const SHUTDOWN_CHECKS = 24;

/** The steps of a create: those behind the current one are done, the current one is under way. */
function CreateSteps({ step }: { step: string | null }) {
  const at = step ? createStep.options.indexOf(step as CreateStep) : -1;
  return (
    <ol className="steps" data-testid="create-steps">
      {createStep.options.map((s, i) => (
        <li key={s} data-step={s} className={i < at || (i === at && s === 'assigned') ? 'done' : i === at ? 'now' : 'later'} aria-current={i === at ? 'step' : undefined}>
          {STEP_LABELS[s]}
        </li>
      ))}
    </ol>
  );
}

export function CapsulDetail({ id }: { id: string }) {
  const trpc = useTRPC();
  const router = useRouter();
  const queryClient = useQueryClient();
  const capsul = useQuery(trpc.capsul.byId.queryOptions({ id }));
  // While an operation is in progress (a console session open, a restart under way) its end is fetched.
  const operations = useQuery(
    trpc.capsul.operations.queryOptions({ id }, { refetchInterval: (q) => (q.state.data?.some((o) => o.state === 'pending' || o.state === 'assigned') ? 3000 : false) }),
  );
  const refreshOperations = () => queryClient.invalidateQueries({ queryKey: trpc.capsul.operations.queryKey({ id }) });
  const setState = useMutation(trpc.capsul.setState.mutationOptions({ onSettled: refreshOperations }));
  const check = useMutation(trpc.capsul.refresh.mutationOptions());
  const [name, setName] = useState<string | undefined>(undefined);
  const rename = useMutation(
    trpc.capsul.rename.mutationOptions({
      onSuccess: (r) => {
        queryClient.setQueryData(trpc.capsul.byId.queryKey({ id }), (old) => (old ? { ...old, name: r.name } : old));
        setName(undefined);
      },
    }),
  );
  const destroy = useMutation(
    trpc.capsul.destroy.mutationOptions({
      onSuccess: () => {
        void queryClient.invalidateQueries({ queryKey: trpc.capsul.list.queryKey() });
        router.push('/capsuls');
      },
      onSettled: refreshOperations,
    }),
  );
  const state = capsul.data?.state;
  const { mutate: checkNow } = check;
  // A guest asked to shut down takes its time: the page asks its host again until it has stopped.
  useEffect(() => {
    if (state !== 'shutting_down') return;
    let left = SHUTDOWN_CHECKS;
    const timer = setInterval(() => (left-- > 0 ? checkNow({ id }) : clearInterval(timer)), SHUTDOWN_CHECK_MS);
    return () => clearInterval(timer);
  }, [state, id, checkNow]);

  if (!capsul.data) return <p className="muted">Loading…</p>;
  const c = capsul.data;
  const gone = !!c.deletedAt;
  const busy = setState.isPending || destroy.isPending;
  const error = setState.error ?? destroy.error;
  const renameErrors = fieldErrors(rename.error, rename.variables, { name: (name ?? c.name).trim() });
  const doing = setState.isPending ? COMMANDS.find((x) => x.command === setState.variables?.command)?.doing : undefined;
  const status = gone
    ? c.state === 'deleted'
      ? `Deleted ${formatTime(c.deletedAt)}${c.deletedBy ? ` by ${c.deletedBy}` : ''}. Its VM and disk are gone.`
      : `Its create did not succeed, so nothing of it is left on any host (${formatTime(c.deletedAt)}).`
    : doing
      ? `${doing}…`
      : c.state === 'missing'
        ? 'missing: its host no longer has this VM. You may delete it.'
        : c.state === 'shutting_down'
          ? 'stopping: waiting for the guest to shut down'
          : c.state === 'pending'
            ? 'creating: waiting for a host to take it'
            : c.state === 'creating'
              ? `creating: ${c.step ? STEP_DOING[c.step as CreateStep] : 'starting'}`
              : null;

  return (
    <>
      <div className="header-row">
        <div>
          <h1>{c.name}</h1>
          <div className="mono muted small" data-testid="capsul-id">{c.id}</div>
        </div>
        <span aria-live="polite" data-testid="capsul-state">
          <StateBadge state={c.state} />
        </span>
      </div>
      {status ? (
        <p className={`notice${gone || c.state === 'missing' ? ' bad' : ''}`} data-testid="capsul-status" aria-live="polite">
          {status}
        </p>
      ) : null}
      {c.state === 'pending' || c.state === 'creating' ? <CreateSteps step={c.step} /> : null}
      <div className="grid">
        <section className="card" aria-labelledby="facts">
          <h2 id="facts" style={{ marginTop: 0 }}>
            Details
          </h2>
          <dl className="facts">
            {gone ? null : (
              <>
                <dt>Address</dt>
                <dd className="mono" data-testid="capsul-address">
                  {c.state === 'missing' ? '—' : (c.ipv4 ?? c.ipv6 ?? (c.state === 'creating' || c.state === 'pending' ? 'being assigned…' : '—'))}
                </dd>
                {c.ipv4 && c.ipv6 && c.state !== 'missing' ? (
                  <>
                    <dt>IPv6</dt>
                    <dd className="mono">{c.ipv6}</dd>
                  </>
                ) : null}
              </>
            )}
            <dt>Size</dt>
            <dd data-testid="capsul-size">{formatSize(c)}</dd>
            <dt>Image</dt>
            <dd data-testid="capsul-image">{c.imageName}</dd>
            <dt>Created</dt>
            <dd>{formatTime(c.createdAt)}</dd>
            {gone ? (
              <>
                <dt>Deleted</dt>
                <dd data-testid="capsul-deleted">
                  {formatTime(c.deletedAt)}
                  {c.deletedBy ? ` by ${c.deletedBy}` : ''}
                </dd>
              </>
            ) : null}
            {c.error ? (
              <>
                <dt>Error</dt>
                <dd className="error">{c.error}</dd>
              </>
            ) : null}
          </dl>
          {(c.ipv4 || c.ipv6) && !gone && c.state !== 'missing' ? (
            <div style={{ marginTop: '1rem' }}>
              <div className="muted">Log in with</div>
              <CopyText text={`ssh ${c.loginUser}@${c.ipv4 ?? c.ipv6}`} label="ssh command" />
            </div>
          ) : null}
          {gone ? null : (
            <form
              className="rename"
              noValidate
              onSubmit={(e) => {
                e.preventDefault();
                rename.mutate({ id, name: (name ?? c.name).trim() });
              }}
            >
              <Field id="name" label="Name" error={renameErrors.name ?? renameErrors.form}>
                <input type="text" value={name ?? c.name} onChange={(e) => setName(e.target.value)} {...controlProps('name', renameErrors.name ?? renameErrors.form)} />
              </Field>
              <button type="submit" className="secondary" disabled={rename.isPending || name === undefined || name.trim() === c.name}>
                Rename
              </button>
            </form>
          )}
        </section>
        {gone ? null : (
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
              title={`Delete ${c.name}?`}
              confirmLabel="Delete it"
              disabled={busy || c.state === 'creating' || c.state === 'pending'}
              onConfirm={() => destroy.mutate({ id })}
            >
              <p>
                The VM and its disk are destroyed (<span className="mono">{c.id}</span>). This cannot be undone.
              </p>
            </ConfirmButton>
            {error ? (
              <p className="notice bad" role="alert" style={{ marginTop: '1rem' }}>
                {error.message}
              </p>
            ) : null}
          </section>
        )}
      </div>
      {gone ? null : <UsageCard id={id} state={c.state} />}
      {gone ? null : <ConsoleCard id={id} />}
      {gone || c.state === 'pending' || c.state === 'creating' || c.state === 'missing' ? null : <ChangesArea capsul={c} />}

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
                <td data-label="Operation">{o.action}</td>
                <td data-label="State">
                  <OperationStateBadge operation={o} />
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
