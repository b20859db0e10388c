// A build's steps, reported to the hub (`spoke.reportProgress`) without waiting for its answer. A lost report
// is fine: the completion says how the build ended. So that reports never hold up a build, nor take the few
// connections to the hub that claims and completions need, at most two are out at once, and a step not yet
// sent is replaced by its operation's next one.
import type { BuildStep } from '~/contract/hub';
import type { Logger } from '~/lib/log';
import type { Progress } from './hypervisor/types';

export class ProgressReports {
  private out = 0;
  /** Per operation, the newest step not sent yet (a Map keeps them in the order they came). */
  private readonly waiting = new Map<string, BuildStep>();

  constructor(
    private readonly send: (report: { operationId: string; step: BuildStep }) => Promise<unknown>,
    private readonly log: Logger,
    private readonly maxOut = 2,
  ) {}

  /** The callback a driver calls at each step of this operation's build. */
  of(operationId: string): Progress {
    return (step) => {
      this.waiting.delete(operationId);
      this.waiting.set(operationId, step);
      this.next();
    };
  }

  /** Drops what is left to send for a build that has ended. */
  forget(operationId: string): void {
    this.waiting.delete(operationId);
  }

  private next(): void {
    while (this.out < this.maxOut && this.waiting.size > 0) {
      const [operationId, step] = this.waiting.entries().next().value!;
      this.waiting.delete(operationId);
      this.out++;
      // Through a promise, so that even a send that throws at once cannot reach the build.
      Promise.resolve()
        .then(() => this.send({ operationId, step }))
        .catch((err) => this.log.debug('a progress report did not reach the hub (it is not sent again)', { operationId, step, err }))
        .finally(() => {
          this.out--;
          this.next();
        });
    }
  }
}
