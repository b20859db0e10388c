'use client';
import { keepPreviousData, useQuery } from '@tanstack/react-query';
import { useState } from 'react';
import { changeKind } from '~/contract/change';
import { fieldErrors } from '~/components/errors';
import { controlProps, Field } from '~/components/field';
import { formatDuration, formatTime } from '~/components/format';
import { OperationStateBadge, StateBadge } from '~/components/state-badge';
import { useTRPC } from '~/trpc/react';

const KINDS = ['create', 'destroy', 'vmState', ...changeKind.options, 'console', 'get', 'list', 'capacityAvailable'] as const;
const STATES = ['pending', 'assigned', 'completed', 'failed', 'conflict'] as const;
type Filters = { kind?: (typeof KINDS)[number]; state?: (typeof STATES)[number]; hostId?: string; capsulId?: string };

export function OperationsLog() {
  const trpc = useTRPC();
  const [draft, setDraft] = useState({ kind: '', state: '', hostId: '', capsulId: '' });
  const [filters, setFilters] = useState<Filters>({});
  const ops = useQuery({ ...trpc.operation.list.queryOptions({ ...filters, limit: 100 }), placeholderData: keepPreviousData, refetchInterval: 5000 });
  const errors = fieldErrors(ops.error, filters, { hostId: draft.hostId || undefined, capsulId: draft.capsulId || undefined });

  return (
    <>
      <form
        className="filters"
        onSubmit={(e) => {
          e.preventDefault();
          setFilters({
            kind: (draft.kind || undefined) as Filters['kind'],
            state: (draft.state || undefined) as Filters['state'],
            hostId: draft.hostId || undefined,
            capsulId: draft.capsulId || undefined,
          });
        }}
      >
        <Field id="f-kind" label="Kind">
          <select value={draft.kind} onChange={(e) => setDraft({ ...draft, kind: e.target.value })} {...controlProps('f-kind')}>
            <option value="">any</option>
            {KINDS.map((k) => (
              <option key={k}>{k}</option>
            ))}
          </select>
        </Field>
        <Field id="f-state" label="State">
          <select value={draft.state} onChange={(e) => setDraft({ ...draft, state: e.target.value })} {...controlProps('f-state')}>
            <option value="">any</option>
            {STATES.map((s) => (
              <option key={s}>{s}</option>
            ))}
          </select>
        </Field>
        <Field id="f-host" label="Host" error={errors.hostId}>
          <input type="text" value={draft.hostId} onChange={(e) => setDraft({ ...draft, hostId: e.target.value })} {...controlProps('f-host', errors.hostId)} />
        </Field>
        <Field id="f-capsul" label="Capsul" error={errors.capsulId}>
          <input type="text" value={draft.capsulId} onChange={(e) => setDraft({ ...draft, capsulId: e.target.value })} {...controlProps('f-capsul', errors.capsulId)} />
        </Field>
        <button type="submit">Filter</button>
      </form>
      {errors.form ? (
        <p className="notice bad" role="alert">
          {errors.form}
        </p>
      ) : null}
      {ops.data?.length ? (
        <table className="stack">
          <thead>
            <tr>
              <th scope="col">When</th>
              <th scope="col">Operation</th>
              <th scope="col">State</th>
              <th scope="col">Who</th>
              <th scope="col">Hosts</th>
              <th scope="col">Took</th>
            </tr>
          </thead>
          <tbody>
            {ops.data.map((o) => (
              <tr key={o.id} data-operation={o.id}>
                <td data-label="When">{formatTime(o.createdAt)}</td>
                <td data-label="Operation">
                  <strong>{o.action}</strong>
                  {o.capsulId ? (
                    <div className="muted">
                      {o.capsul?.name ? `${o.capsul.name} ` : null}
                      <span className="mono">{o.capsulId}</span>
                    </div>
                  ) : null}
                  {o.error ? <div className="error">{o.error}</div> : null}
                </td>
                <td data-label="State">
                  <OperationStateBadge operation={o} />
                </td>
                <td data-label="Who">{o.actor}</td>
                <td data-label="Hosts">
                  <ul style={{ margin: 0, paddingLeft: '1rem' }}>
                    {o.hostOperations.map((h) => (
                      <li key={h.hostId}>
                        {h.hostId}: <StateBadge state={h.assignmentStatus} />
                        {h.completedAt ? <span className="muted"> {formatDuration(o.createdAt, h.completedAt)}</span> : null}
                        {h.reason ? <div className="muted">{h.reason}</div> : null}
                        {h.result ? (
                          <details>
                            <summary>result</summary>
                            <pre className="secret">{JSON.stringify(h.result, null, 1)}</pre>
                          </details>
                        ) : null}
                      </li>
                    ))}
                  </ul>
                </td>
                <td data-label="Took">{formatDuration(o.createdAt, o.completedAt)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : (
        <p className="card empty">{ops.isLoading ? 'Loading…' : 'No operations match.'}</p>
      )}
    </>
  );
}
