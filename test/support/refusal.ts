// A call the hub must refuse: resolves to its tRPC error, fails the test if the call was accepted.
import assert from 'node:assert/strict';
import { TRPCClientError } from '@trpc/client';
import type { HubRouter } from '~/hub/root';

export async function refusal(call: Promise<unknown>): Promise<TRPCClientError<HubRouter>> {
  const err = await call.then(
    () => assert.fail('accepted'),
    (e: unknown) => e,
  );
  assert.ok(err instanceof TRPCClientError, String(err));
  return err as TRPCClientError<HubRouter>;
}
