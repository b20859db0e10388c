// Owner-directed async changes on this host (contract/change.ts): resize, snapshots, rebuild. One change at a
// time per capsul, and no power command or destroy while one runs. An accepted change is written down
// (changes/<operation>.json) before the hub is told `assigned`; a spoke stopped in the middle (a restart, a
// crash) finds it when it starts again and has the driver finish it or put the capsul back, then reports how
// it ended. Completions go through the same durable outbox as creates.
import { mkdir, readdir, readFile, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import { CHANGE_WORDS, changeInput, type ChangeInput, type ChangeOutput } from '~/contract/change';
import type { CompletionResult } from '~/contract/hub';
import { writeFileAtomic } from '~/lib/atomic-write';
import { errorMessage, type Logger } from '~/lib/log';
import { HypervisorError, type Hypervisor } from './hypervisor/types';
import type { Outbox } from './outbox';

/** What is written down for an accepted change: the offer, and whether the capsul ran when it began. */
const journal = changeInput.extend({ wasRunning: z.boolean() });
type Journal = z.infer<typeof journal>;

/** Says why this host has no room for `need` more memory and disk, or null when it has. */
export type RoomCheck = (need: { memoryMb: number; diskGb: number }) => Promise<string | null>;


export class Changes {
  /** What is being done to each capsul now (a change, a power command, a destroy). */
  private readonly busy = new Map<string, string>();
  private readonly running = new Set<Promise<void>>();
  private stopping = false;

  constructor(
    private readonly hypervisor: Hypervisor,
    private readonly outbox: Outbox,
    private readonly log: Logger,
    private readonly dir: string,
    private readonly room: RoomCheck,
  ) {}

  private journalOf(operationId: string): string {
    return path.join(this.dir, `${operationId}.json`);
  }

  /** Runs `work` on a capsul no change is running on; refuses (precondition) naming the one that is. */
  async exclusive<T>(id: string, what: string, work: () => Promise<T>): Promise<T> {
    const running = this.busy.get(id);
    if (running) throw new HypervisorError(`${running} is running on ${id}; ${what} waits until it ends`, 'precondition');
    this.busy.set(id, what);
    try {
      return await work();
    } finally {
      this.busy.delete(id);
    }
  }

  /** The answer to an offered change: started (`assigned`), or why not, at once. */
  async offer(input: ChangeInput): Promise<ChangeOutput> {
    const { id, change } = input;
    if (this.stopping) return { assignmentStatus: 'not_applicable', reason: 'this host is shutting down' };
    const running = this.busy.get(id);
    if (running) return { assignmentStatus: 'not_applicable', reason: `${running} is running on ${id}` };
    // Taken before the first await, so two offers for one capsul cannot both pass.
    this.busy.set(id, `${CHANGE_WORDS[change.kind]} (operation ${input.operationId})`);
    let problem: string | null;
    try {
      // A resize's present size is read beside the checks, not after them (with libvirt, four commands).
      const [found, vm, now] = await Promise.all([
        this.hypervisor.changeProblem(id, change),
        this.hypervisor.get(id),
        change.kind === 'resize' ? this.hypervisor.size(id) : null,
      ]);
      problem = found;
      if (!problem && change.kind === 'resize' && now) {
        problem = await this.room({ memoryMb: change.memoryMb - now.memoryMb, diskGb: change.diskGb - now.diskGb });
      }
      const journal: Journal = { ...input, wasRunning: vm?.state === 'running' };
      if (!problem) await writeFileAtomic(this.journalOf(input.operationId), JSON.stringify(journal));
    } catch (err) {
      this.busy.delete(id);
      throw err;
    }
    if (problem) {
      this.busy.delete(id);
      return { assignmentStatus: 'not_applicable', reason: problem };
    }
    this.track(this.run(input, false));
    return { assignmentStatus: 'assigned' };
  }

  /** Changes an earlier run of this spoke left unfinished: each is finished (or undone) and reported. */
  async recover(): Promise<number> {
    await mkdir(this.dir, { recursive: true });
    const files = (await readdir(this.dir)).filter((f) => f.endsWith('.json'));
    let recovered = 0;
    for (const file of files) {
      let input: Journal;
      try {
        input = journal.parse(JSON.parse(await readFile(path.join(this.dir, file), 'utf8')));
      } catch (err) {
        await mkdir(path.join(this.dir, 'unreadable'), { recursive: true });
        await rename(path.join(this.dir, file), path.join(this.dir, 'unreadable', file));
        this.log.error('a change journal could not be read; kept in changes/unreadable for an operator', { file, err });
        continue;
      }
      this.busy.set(input.id, `${CHANGE_WORDS[input.change.kind]} (operation ${input.operationId}, being recovered)`);
      this.track(this.run(input, { wasRunning: input.wasRunning }));
      recovered++;
    }
    return recovered;
  }

  private track(work: Promise<void>): void {
    const tracked = work.finally(() => this.running.delete(tracked));
    this.running.add(tracked);
  }

  private async run(input: ChangeInput, recovering: false | { wasRunning: boolean }): Promise<void> {
    const { id, change, operationId } = input;
    const log = this.log.child({ operationId, capsulId: id, change: change.kind });
    let result: CompletionResult;
    try {
      const outcome = await this.hypervisor.applyChange(id, change, log, recovering);
      const { state, ipv4, ipv6, snapshots, pausedMs } = outcome;
      result = { ok: true, state, ipv4, ipv6, snapshots, pausedMs };
      log.info('change done', { recovering: !!recovering, state, pausedMs });
    } catch (err) {
      if (err instanceof HypervisorError && err.kind === 'unavailable') {
        // The hypervisor did not answer: the journal stays, and the next start goes on.
        log.warn('change left for the next start: the hypervisor did not answer', { err });
        this.busy.delete(id);
        return;
      }
      log.error('change failed', { recovering: !!recovering, err });
      // How it left the capsul, when the host can say: the hub shows that, not a guess.
      const [vm, snapshots] = await Promise.all([
        this.hypervisor.get(id).catch(() => undefined),
        this.hypervisor.snapshots(id).catch(() => undefined),
      ]);
      result = { ok: false, error: errorMessage(err).slice(0, 4000), state: vm?.state, snapshots };
    } finally {
      this.busy.delete(id);
    }
    await this.outbox.add({ operationId, result });
    await rm(this.journalOf(operationId), { force: true });
  }

  /** Waits for changes in progress (used by tests and at stop). */
  async settle(): Promise<void> {
    while (this.running.size) await Promise.all([...this.running]);
  }

  /** New offers are refused from now on. */
  stop(): void {
    this.stopping = true;
  }

  /** How many changes are running now. */
  get inProgress(): number {
    return this.running.size;
  }
}
