'use client';
// A stable function that mints a console ticket (`console.ticket`) for this capsul, for either tab. Each
// minting records a `console` session, so the capsul's operations are fetched again to show it.
import { useMutation, useQueryClient } from '@tanstack/react-query';
import { useCallback, useEffect, useRef } from 'react';
import { useTRPC } from '~/trpc/react';

export function useConsoleTicket(id: string, kind: 'serial' | 'vnc') {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const ticket = useMutation(
    trpc.console.ticket.mutationOptions({
      onSuccess: () => queryClient.invalidateQueries({ queryKey: trpc.capsul.operations.queryKey({ id }) }),
    }),
  );
  const mint = useRef(ticket.mutateAsync);
  useEffect(() => {
    mint.current = ticket.mutateAsync;
  });
  return useCallback(() => mint.current({ id, kind }), [id, kind]);
}
