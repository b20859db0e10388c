'use client';
// What the Changes cards share: the capsul's snapshots and operations, the change running now (from either),
// and the page brought up to date when it ends. capsul.watch invalidates both on each capsul change; while a
// change runs they are also asked again every few seconds.
import { useQuery, useQueryClient } from '@tanstack/react-query';
import { useCallback, useEffect, useRef, useState } from 'react';
import { changeKind, type ChangeKind } from '~/contract/change';
import { useTRPC } from '~/trpc/react';

const POLL_MS = 2000;
const KINDS: readonly string[] = changeKind.options;

export type RunningChange = { id: string; kind: ChangeKind; action: string | null; createdAt: Date };

const isChange = (o: { kind: string }) => KINDS.includes(o.kind);
const isOpen = (o: { state: string }) => o.state === 'pending' || o.state === 'assigned';

export function useChanges(id: string) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const snapshots = useQuery(
    trpc.snapshot.list.queryOptions(
      { capsulId: id },
      { refetchInterval: (q) => (q.state.data?.running || q.state.data?.snapshots.some((s) => s.state === 'taking') ? POLL_MS : false) },
    ),
  );
  const operations = useQuery(
    trpc.capsul.operations.queryOptions({ id }, { refetchInterval: (q) => (q.state.data?.some((o) => isChange(o) && isOpen(o)) ? POLL_MS : false) }),
  );
  const open = operations.data?.find((o) => isChange(o) && isOpen(o));
  const listed = snapshots.data?.running;
  const running: RunningChange | null = open
    ? { id: open.id, kind: open.kind as ChangeKind, action: open.action, createdAt: open.createdAt }
    : listed
      ? { ...listed, action: null }
      : null;

  /** Everything a change may have changed, asked again. */
  const refresh = useCallback(
    () =>
      Promise.all(
        [trpc.snapshot.list.queryKey({ capsulId: id }), trpc.capsul.operations.queryKey({ id }), trpc.capsul.byId.queryKey({ id }), trpc.capsul.resizeOptions.queryKey({ id })].map(
          (queryKey) => queryClient.invalidateQueries({ queryKey }),
        ),
      ),
    [trpc, queryClient, id],
  );
  // When the running change ends, the page shows what it left (the size, the image, the snapshots).
  const runningId = running?.id;
  const was = useRef(runningId);
  useEffect(() => {
    if (was.current && was.current !== runningId) void refresh();
    was.current = runningId;
  }, [runningId, refresh]);

  /** The newest operation of these kinds (its outcome, once it has ended). */
  const latest = (kinds: ChangeKind[]) => operations.data?.find((o) => (kinds as string[]).includes(o.kind));
  return { snapshots: snapshots.data, running, latest, refresh };
}

export type Changes = ReturnType<typeof useChanges>;

/** A clock that ticks every second while `on` (null before its first tick, so the server and the browser agree). */
export function useNow(on: boolean): number | null {
  const [now, setNow] = useState<number | null>(null);
  useEffect(() => {
    if (!on) return;
    const timer = setInterval(() => setNow(Date.now()), 1000);
    return () => clearInterval(timer);
  }, [on]);
  return now;
}
