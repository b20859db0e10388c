// Changes to capsuls, announced so console subscriptions can push them to browsers (server-sent events). A
// change carries the capsul's id and owner, nothing else: a subscriber skips changes outside its scope before
// reading anything, and reads the row itself within its scope, so nothing leaks across accounts.
//
// With PostgreSQL, every change is also sent to the other hubs on the same database (NOTIFY on one channel;
// each hub LISTENs on a connection of its own, see change-feed.ts), so a browser watching through one hub
// sees what another hub changed.
import { EventEmitter } from 'node:events';
import { TRPCError } from '@trpc/server';
import { processSingleton } from '~/lib/process-singleton';

export type CapsulChange = { id: string; ownerId: string };

type Feed = { emitter: EventEmitter; publish?: (change: CapsulChange) => void };
const feed = processSingleton<Feed>('capsulEvents', () => ({ emitter: new EventEmitter().setMaxListeners(0) }));

/** Where changes go beyond this process (the change feed sets it when the hub starts on PostgreSQL). */
export function publishChangesWith(publish: ((change: CapsulChange) => void) | undefined): void {
  feed.publish = publish;
}

/** Announces a change made here: to this process's subscribers, and to the other hubs. */
export function capsulChanged(change: { id: string | null | undefined; ownerId: string | null | undefined }): void {
  if (!change.id || !change.ownerId) return;
  const c = { id: change.id, ownerId: change.ownerId };
  feed.emitter.emit('capsul', c);
  feed.publish?.(c);
}

/** A change another hub made, as the change feed received it. */
export function capsulChangedElsewhere(change: CapsulChange): void {
  feed.emitter.emit('capsul', change);
}

/** How many changes a subscriber may have waiting (distinct capsuls) before it is told to start again. */
export const MAX_WAITING_CHANGES = 1000;

/**
 * The changes a subscriber may see (`visible`), until the signal aborts. Changes wait in a bounded queue that
 * keeps one entry per capsul (a capsul that changes twice before it is read is read once). A subscriber that
 * falls that far behind gets an error, and its browser subscribes again.
 */
export async function* capsulChanges(visible: (c: CapsulChange) => boolean, signal: AbortSignal | undefined): AsyncGenerator<CapsulChange> {
  const waiting = new Map<string, CapsulChange>();
  let overflowed = false;
  let wake: (() => void) | undefined;
  const onChange = (c: CapsulChange) => {
    if (!visible(c)) return;
    waiting.delete(c.id);
    waiting.set(c.id, c);
    if (waiting.size > MAX_WAITING_CHANGES) overflowed = true;
    wake?.();
  };
  const onAbort = () => wake?.();
  feed.emitter.on('capsul', onChange);
  signal?.addEventListener('abort', onAbort);
  try {
    while (!signal?.aborted) {
      if (overflowed) throw new TRPCError({ code: 'TOO_MANY_REQUESTS', message: 'too many changes waiting; subscribe again' });
      const next = waiting.values().next();
      if (next.done) {
        await new Promise<void>((resolve) => (wake = resolve));
        wake = undefined;
        continue;
      }
      waiting.delete(next.value.id);
      yield next.value;
    }
  } finally {
    feed.emitter.off('capsul', onChange);
    signal?.removeEventListener('abort', onAbort);
  }
}
