'use client';
// One server-sent-events subscription per console page: each capsul change lands in the TanStack Query
// cache (lists, the capsul's page, its operations, its snapshots and the sizes it can grow to), so state moves
// on screen without a reload. A subscription the hub ends with an error (it fell too far behind, or the hub is
// restarting) is started again, and what it may have missed is fetched afresh.
import { useQueryClient } from '@tanstack/react-query';
import { useEffect } from 'react';
import { useSubscription } from '@trpc/tanstack-react-query';
import { capsulRow, type CapsulRow } from '~/contract/capsul-row';
import { useTRPC } from '~/trpc/react';

type ListInput = { all?: boolean; owner?: string; includeDeleted?: boolean } | undefined;

export function LiveUpdates({ accountId }: { accountId: string }) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const subscription = useSubscription(
    trpc.capsul.watch.subscriptionOptions(undefined, {
      onData: (capsul) => {
        for (const query of queryClient.getQueryCache().findAll({ queryKey: trpc.capsul.list.queryKey() })) {
          const input = (query.queryKey[1] as { input?: ListInput } | undefined)?.input;
          const belongs = (input?.all || capsul.ownerId === accountId) && (!input?.owner || input.owner === capsul.owner.email);
          const row = capsulRow(capsul, !!(input?.all || input?.owner));
          queryClient.setQueryData<CapsulRow[]>(query.queryKey, (old) => {
            if (!old) return old;
            const rest = old.filter((c) => c.id !== capsul.id);
            if (!belongs || (capsul.deletedAt && !input?.includeDeleted)) return rest;
            const at = old.findIndex((c) => c.id === capsul.id);
            return at >= 0 ? old.map((c) => (c.id === capsul.id ? row : c)) : [row, ...rest];
          });
        }
        queryClient.setQueryData(trpc.capsul.byId.queryKey({ id: capsul.id }), (old) => (old ? { ...old, ...capsul } : old));
        void queryClient.invalidateQueries({ queryKey: trpc.capsul.operations.queryKey({ id: capsul.id }) });
        // A change starting or ending (resize, snapshots, rebuild) moves its snapshots and sizes too.
        void queryClient.invalidateQueries({ queryKey: trpc.snapshot.list.queryKey({ capsulId: capsul.id }) });
        void queryClient.invalidateQueries({ queryKey: trpc.capsul.resizeOptions.queryKey({ id: capsul.id }) });
      },
    }),
  );
  const failed = subscription.status === 'error';
  const { reset } = subscription;
  useEffect(() => {
    if (!failed) return;
    const again = setTimeout(() => {
      void queryClient.invalidateQueries({ queryKey: trpc.capsul.pathKey() });
      reset();
    }, 2000);
    return () => clearTimeout(again);
  }, [failed, reset, queryClient, trpc]);
  return null;
}
