// Changes to capsuls, announced inside this hub process so console subscriptions can push them to
// browsers (server-sent events). Only the capsul id travels: each subscriber re-reads the row within its
// own scope, so nothing leaks across accounts. One process: with several hubs, a change made by one is seen
// by the others' subscribers only after a reload (PostgreSQL LISTEN/NOTIFY would carry it; not built yet).
import { EventEmitter, on } from 'node:events';
import { processSingleton } from '~/lib/process-singleton';

const emitter = processSingleton('capsulEvents', () => new EventEmitter().setMaxListeners(0));

export function capsulChanged(capsulId: string | null | undefined): void {
  if (capsulId) emitter.emit('capsul', capsulId);
}

/** Ids of capsuls as they change, until the signal aborts. */
export async function* capsulChanges(signal: AbortSignal | undefined): AsyncGenerator<string> {
  for await (const [capsulId] of on(emitter, 'capsul', { signal })) yield capsulId as string;
}
