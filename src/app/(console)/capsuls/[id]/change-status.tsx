'use client';
// One line per Changes card: the change running on the capsul now and since when, or how the card's own
// latest change ended (completed, or failed with its error).
import { formatAgo, formatTime } from '~/components/format';
import type { ChangeKind } from '~/contract/change';
import { useNow, type Changes } from './use-changes';

const DOING: Record<ChangeKind, string> = {
  resize: 'Resizing',
  snapshotCreate: 'Taking a snapshot',
  snapshotRevert: 'Reverting to a snapshot',
  snapshotDelete: 'Deleting a snapshot',
  rebuild: 'Rebuilding',
};

export function ChangeStatus({ changes, kinds }: { changes: Changes; kinds: ChangeKind[] }) {
  const { running } = changes;
  const now = useNow(!!running);
  if (running) {
    return (
      <p className="notice" role="status" data-testid="change-running">
        {DOING[running.kind]}… started {now ? formatAgo(running.createdAt, now) : formatTime(running.createdAt)}
        {running.action ? <span className="muted"> ({running.action})</span> : null}
      </p>
    );
  }
  const last = changes.latest(kinds);
  if (!last || (last.state !== 'completed' && last.state !== 'failed')) return null;
  const failed = last.state === 'failed';
  return (
    <p className={`notice ${failed ? 'bad' : 'good'}`} role="status" data-testid="change-outcome">
      Last: {last.action}, {failed ? 'failed' : 'completed'} {formatTime(last.completedAt ?? last.createdAt)}
      {failed && last.error ? `: ${last.error}` : '.'}
    </p>
  );
}
