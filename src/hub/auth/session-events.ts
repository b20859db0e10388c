// Sessions that ended (a sign-out, or sign out everywhere), announced so what holds a session open beyond a
// request — the console's WebSockets (src/hub/console/relay.ts) — closes at once rather than at its next
// check. In this process through an emitter; to the other hubs on the same PostgreSQL through the change feed
// (change-feed.ts), which calls `sessionsEndedElsewhere`. An announcement names the account only: a listener
// checks its own sessions again, so a stray or forged one ends nothing that is still valid.
import { EventEmitter } from 'node:events';
import { processSingleton } from '~/lib/process-singleton';

type Feed = { emitter: EventEmitter; publish?: (accountId: string) => void };
const feed = processSingleton<Feed>('sessionEvents', () => ({ emitter: new EventEmitter().setMaxListeners(0) }));

/** Where announcements go beyond this process (the change feed sets it on PostgreSQL). */
export function publishSignOutsWith(publish: ((accountId: string) => void) | undefined): void {
  feed.publish = publish;
}

/** Some of the account's sessions ended here: tell this process's listeners and the other hubs. */
export function sessionsEnded(accountId: string): void {
  feed.emitter.emit('ended', accountId);
  feed.publish?.(accountId);
}

/** Another hub ended some of the account's sessions. */
export function sessionsEndedElsewhere(accountId: string): void {
  feed.emitter.emit('ended', accountId);
}

/** Listens until the returned function is called. */
export function onSessionsEnded(listener: (accountId: string) => void): () => void {
  feed.emitter.on('ended', listener);
  return () => void feed.emitter.off('ended', listener);
}
