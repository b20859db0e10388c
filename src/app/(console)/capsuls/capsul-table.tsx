'use client';
import { useQuery } from '@tanstack/react-query';
import Link from 'next/link';
import { useRouter } from 'next/navigation';
import type { MouseEvent } from 'react';
import { formatSize, formatTime } from '~/components/format';
import { StateBadge } from '~/components/state-badge';
import { useTRPC } from '~/trpc/react';

/**
 * Rows link with plain anchors and one click handler on the table navigates in the app: a `next/link` per
 * row costs a client component each, which with a thousand capsuls was a fifth of the page's render time.
 */
function useRowNavigation() {
  const router = useRouter();
  return (event: MouseEvent<HTMLElement>) => {
    const link = (event.target as HTMLElement).closest('a');
    if (!link || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey || link.target) return;
    if (link.origin !== window.location.origin) return;
    event.preventDefault();
    router.push(link.pathname);
  };
}

/** Capsuls as a table; state changes arrive live (see live-updates.tsx). */
export function CapsulTable({ input, showOwner = false }: { input: { all?: boolean }; showOwner?: boolean }) {
  const trpc = useTRPC();
  const navigate = useRowNavigation();
  const list = useQuery(trpc.capsul.list.queryOptions(input));
  if (list.error) return <p className="notice bad" role="alert">{list.error.message}</p>;
  if (!list.data) return <p className="muted">Loading…</p>;
  if (list.data.length === 0) {
    return (
      <div className="card empty">
        No capsuls yet. <Link href="/capsuls/new">Create one</Link>.
      </div>
    );
  }
  return (
    <table className="stack">
      <thead>
        <tr>
          <th scope="col">Capsul</th>
          <th scope="col">State</th>
          <th scope="col">Address</th>
          <th scope="col">Size</th>
          <th scope="col">Image</th>
          {showOwner ? <th scope="col">Owner</th> : null}
          {showOwner ? <th scope="col">Host</th> : null}
          <th scope="col">Created</th>
        </tr>
      </thead>
      <tbody aria-live="polite" onClick={navigate}>
        {list.data.map((c) => (
          <tr key={c.id} data-capsul={c.id}>
            <td data-label="Capsul">
              <a href={`/capsuls/${c.id}`}>{c.name}</a>
              <div className="mono muted small">{c.id}</div>
            </td>
            <td data-label="State">
              <StateBadge state={c.state} />
            </td>
            <td data-label="Address" className="mono">
              {c.ipv4 ?? '—'}
            </td>
            <td data-label="Size">{formatSize(c)}</td>
            <td data-label="Image">{c.image}</td>
            {showOwner ? <td data-label="Owner">{c.ownerEmail}</td> : null}
            {showOwner ? <td data-label="Host">{c.hostId ?? '—'}</td> : null}
            <td data-label="Created">{formatTime(c.createdAt)}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
