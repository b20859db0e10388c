import type { Logger } from './log';

/** Runs `work` every `periodMs` (after each run ends, so runs never overlap) until stopped. */
export function every(periodMs: number, firstAfterMs: number, work: () => Promise<unknown>, log: Logger, what: string) {
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  const tick = async () => {
    try {
      await work();
    } catch (err) {
      log.warn(`${what} failed`, { err });
    }
    if (!stopped) timer = setTimeout(tick, periodMs);
  };
  timer = setTimeout(tick, firstAfterMs);
  return () => {
    stopped = true;
    clearTimeout(timer);
  };
}
