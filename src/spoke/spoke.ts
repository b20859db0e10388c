// What a spoke does beyond passing calls to its hypervisor: capacity net of in-flight creates, the claim
// that decides whether this host takes an offered create, and the async build that ends in a completion.
// A build in progress is written down (builds/<operation>.json): a spoke stopped mid-build, by a restart or a
// crash, finds it when it starts again and finishes it.
import { mkdir, readdir, readFile, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { CompletionResult } from '~/contract/hub';
import { createInput, type Capacity, type CreateInput, type CreateOutput } from '~/contract/spoke';
import { writeFileAtomic } from '~/lib/atomic-write';
import { errorMessage, type Logger } from '~/lib/log';
import { trpcErrorCode } from '~/lib/trpc-errors';
import type { HubClient } from './hub-client';
import { HypervisorError, type HostResources, type Hypervisor, type MeasuredResources, type Progress } from './hypervisor/types';
import { backoffMs, type Outbox } from './outbox';
import { ProgressReports } from './progress';
import { Changes } from './changes';

type Size = { memoryMb: number; diskGb: number };
/** Room promised to a create: while its claim is out (`settled` resolves when the claim is decided), then
 * while it builds (the hypervisor does not count a domain's size until the domain is defined). */
type Reservation = Size & { settled?: Promise<void> };

/** The hub's answers that decide a claim (a host it does not accept cannot win one either): anything else (a cut
 * connection, a hub restarting) leaves it open. */
const CLAIM_LOST = new Set(['CONFLICT', 'NOT_FOUND', 'PRECONDITION_FAILED', 'BAD_REQUEST', 'FORBIDDEN', 'UNAUTHORIZED']);

export class Spoke {
  private readonly reserved = new Map<string, Reservation>();
  private readonly building = new Set<Promise<void>>();
  /** Aborted when the spoke stops: claims still waiting to be decided give up (their journals stay). */
  private readonly stopping = new AbortController();
  private readonly progress: ProgressReports;
  /** Changes to capsuls that exist (resize, snapshots, rebuild): journalled in changes/, beside builds/. */
  readonly changes: Changes;

  constructor(
    readonly hypervisor: Hypervisor,
    private readonly hub: HubClient,
    private readonly outbox: Outbox,
    private readonly log: Logger,
    private readonly buildsDir: string,
  ) {
    this.progress = new ProgressReports((report) => this.hub.spoke.reportProgress.mutate(report), log);
    this.changes = new Changes(hypervisor, outbox, log, path.join(path.dirname(buildsDir), 'changes'), async (need) => {
      const c = await this.capacity(need);
      return c.available ? null : `not enough room on this host: needs ${need.memoryMb} MiB more memory and ${need.diskGb} GiB more disk, has ${c.freeMemoryMb} MiB and ${c.freeDiskGb} GiB free (moving a capsul to another host is not built yet)`;
    });
  }

  private journalOf(operationId: string): string {
    return path.join(this.buildsDir, `${operationId}.json`);
  }

  /**
   * Builds an earlier run of this spoke left unfinished (a restart, a crash): each is settled with the hub
   * first (a claim whose answer was cut off is asked again until the hub says whose it is), then finished if
   * it is this host's. Never destroys anything: a hypervisor that is slow to answer is asked again, and a build
   * is resumed from what it left. Returns how many builds it resumed.
   */
  async recoverInterruptedBuilds(): Promise<number> {
    await mkdir(this.buildsDir, { recursive: true });
    const files = (await readdir(this.buildsDir)).filter((f) => f.endsWith('.json'));
    const resumed = await Promise.all(files.map((file) => this.recover(path.join(this.buildsDir, file))));
    return resumed.filter(Boolean).length;
  }

  private async recover(file: string): Promise<boolean> {
    let spec: CreateInput;
    try {
      spec = createInput.parse(JSON.parse(await readFile(file, 'utf8')));
    } catch (err) {
      // A journal that cannot be read cannot be finished: kept aside for an operator, not retried forever.
      await mkdir(path.join(this.buildsDir, 'unreadable'), { recursive: true });
      await rename(file, path.join(this.buildsDir, 'unreadable', path.basename(file)));
      this.log.error('a build journal could not be read; kept in builds/unreadable for an operator', { file, err });
      return false;
    }
    const log = this.log.child({ operationId: spec.operationId, capsulId: spec.id });
    let claimed: unknown;
    try {
      claimed = await this.claim(spec.operationId);
    } catch (err) {
      if (this.stopping.signal.aborted) return false; // settled on the next start
      await rm(file, { force: true });
      log.info('interrupted offer: the create is not this host\'s to build', { reason: errorMessage(err) });
      return false;
    }
    log.info('resuming an interrupted build');
    this.reserved.set(spec.id, { memoryMb: spec.memoryMb, diskGb: spec.diskGb });
    this.track(this.build(createInput.parse(claimed), log, true));
    return true;
  }

  /** Room left after the reservations the hypervisor does not count yet (a build's domain, once defined, it does). */
  private free(resources: MeasuredResources, only?: (r: Reservation) => boolean): HostResources {
    let { freeMemoryMb, freeDiskGb } = resources;
    for (const [id, r] of this.reserved) {
      if (resources.counted.has(id) || (only && !only(r))) continue;
      freeMemoryMb -= r.memoryMb;
      freeDiskGb -= r.diskGb;
    }
    return { freeMemoryMb, freeDiskGb };
  }

  async capacity(request: Size): Promise<Capacity> {
    const free = this.free(await this.hypervisor.resources());
    return { available: free.freeMemoryMb >= request.memoryMb && free.freeDiskGb >= request.diskGb, ...free };
  }

  /** The answer to an offered create: claim it when this host can take it, else say why not. */
  async offer(offered: CreateInput): Promise<CreateOutput> {
    if (this.stopping.signal.aborted) return { assignmentStatus: 'not_applicable', reason: 'this host is shutting down' };
    const log = this.log.child({ operationId: offered.operationId, capsulId: offered.id });
    // The three checks at once: with libvirt each is a virsh call or more, and none needs another's answer.
    // Their results are taken in order, so the answer (or the error) is the one checks made one by one give.
    const [exists, image, room] = await Promise.allSettled([
      this.hypervisor.exists(offered.id),
      this.hypervisor.imageProblem(offered.image, offered.imageFiles),
      this.hypervisor.resources(),
    ]);
    if (settled(exists)) return { assignmentStatus: 'not_applicable', reason: `a domain named ${offered.id} already exists on this host` };
    const imageProblem = settled(image);
    if (imageProblem) return { assignmentStatus: 'not_applicable', reason: imageProblem };
    const measured = settled(room);
    // Check and reserve with no await in between, so concurrent offers cannot promise the same room twice.
    // When the room is taken only by claims still out (most of which other hosts win in a burst), wait for
    // those to be decided and look again, rather than turning the offer down for room that is coming back.
    const fits = (f: HostResources) => f.freeMemoryMb >= offered.memoryMb && f.freeDiskGb >= offered.diskGb;
    for (let resources = measured; ; resources = await this.hypervisor.resources()) {
      const free = this.free(resources);
      if (fits(free)) break;
      const claiming = [...this.reserved.values()].flatMap((r) => (r.settled ? [r.settled] : []));
      if (claiming.length === 0 || !fits(this.free(resources, (r) => !r.settled))) {
        return {
          assignmentStatus: 'not_applicable',
          reason: `not enough room: needs ${offered.memoryMb} MiB memory and ${offered.diskGb} GiB disk, has ${free.freeMemoryMb} MiB and ${free.freeDiskGb} GiB free`,
        };
      }
      await Promise.race(claiming);
    }
    let settle!: () => void;
    const reservation: Reservation = { memoryMb: offered.memoryMb, diskGb: offered.diskGb, settled: new Promise((r) => (settle = r)) };
    this.reserved.set(offered.id, reservation);

    // The journal is written while the claim is out (the hub waits on both): a spoke that stops after winning
    // finds it when it starts again. A claim lost removes it; one cut short by a stop is settled at the next start.
    const journalFile = this.journalOf(offered.operationId);
    const journal = writeFileAtomic(journalFile, JSON.stringify(offered));
    let spec: CreateInput;
    try {
      spec = createInput.parse(await this.claim(offered.operationId));
    } catch (err) {
      this.reserved.delete(offered.id);
      settle();
      if (this.stopping.signal.aborted) {
        // Whether this host won is not known: the journal stays, and the next start asks the hub.
        throw new Error('this host is shutting down; whether its claim won is settled when it starts again', { cause: err });
      }
      this.track(journal.then(() => rm(journalFile, { force: true })).catch(() => undefined));
      const code = trpcErrorCode(err);
      if (code === 'CONFLICT') return { assignmentStatus: 'assigned_to_other_host' };
      return { assignmentStatus: 'not_applicable', reason: errorMessage(err) };
    }
    delete reservation.settled; // won: the room stays promised while it builds
    settle();
    log.info('claimed create');
    await journal;
    this.track(this.build(spec, log, false));
    return { assignmentStatus: 'assigned' };
  }

  /**
   * The claim, asked until the hub decides it: the payload when this host wins (also when it asks again after
   * an answer was lost: the owner's repeated claim is answered the same); the hub's refusal when it does not.
   * A cut connection, a timeout or a hub that is restarting leave the outcome unknown, so it asks again, with
   * backoff, until it knows or the spoke stops.
   */
  private async claim(operationId: string): Promise<unknown> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.hub.spoke.claimOperation.mutate({ operationId }, { signal: this.stopping.signal });
      } catch (err) {
        const code = trpcErrorCode(err);
        if ((code && CLAIM_LOST.has(code)) || this.stopping.signal.aborted) throw err;
        if (attempt === 0 || attempt % 10 === 9) this.log.warn('claim: no decision from the hub yet; asking again', { operationId, err });
        await sleep(backoffMs(attempt, 100, 5000), undefined, { signal: this.stopping.signal }).catch(() => undefined);
      }
    }
  }

  private track(work: Promise<void>): void {
    const tracked = work.finally(() => this.building.delete(tracked));
    this.building.add(tracked);
  }

  private async build(spec: CreateInput, log: Logger, resuming: boolean): Promise<void> {
    let result: CompletionResult;
    const progress = this.progress.of(spec.operationId);
    try {
      const vm = resuming ? await this.resumeWhenAnswered(spec, log, progress) : await this.hypervisor.create(spec, log, progress);
      result = { ok: true, state: vm.state, ipv4: vm.ipv4, ipv6: vm.ipv6 };
    } catch (err) {
      if (err instanceof HypervisorError && err.kind === 'unavailable') {
        // Stopping while the hypervisor still does not answer: the journal stays, the next start goes on.
        log.warn('build left for the next start: the hypervisor did not answer', { err });
        this.reserved.delete(spec.id);
        return;
      }
      log.error('create failed', { err });
      result = { ok: false, error: errorMessage(err).slice(0, 4000) };
    } finally {
      this.reserved.delete(spec.id);
      this.progress.forget(spec.operationId);
    }
    await this.outbox.add({ operationId: spec.operationId, result });
    await rm(this.journalOf(spec.operationId), { force: true });
  }

  /**
   * Resumes an interrupted build, asking again (with backoff) while the hypervisor cannot say what is there:
   * a slow libvirt after a restart must neither fail a healthy capsul nor have it rebuilt over itself.
   */
  private async resumeWhenAnswered(spec: CreateInput, log: Logger, progress: Progress) {
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.hypervisor.resume(spec, log, progress);
      } catch (err) {
        if (!(err instanceof HypervisorError && err.kind === 'unavailable') || this.stopping.signal.aborted) throw err;
        log.warn('resume: the hypervisor did not answer; asking again', { attempt: attempt + 1, err });
        await sleep(backoffMs(attempt, 250, 10_000), undefined, { signal: this.stopping.signal }).catch(() => undefined);
      }
    }
  }

  /** Tells the hub this spoke is alive (and which driver it runs); throws when the hub does not answer. */
  async heartbeatHub(): Promise<void> {
    // Capacity and images ride along; if the hypervisor cannot say, the heartbeat still proves reachability.
    const [free, images] = await Promise.all([
      this.hypervisor.resources().then((r) => this.free(r), () => undefined),
      this.hypervisor.images().catch(() => undefined),
    ]);
    await this.hub.spoke.heartbeat.mutate({ driver: this.hypervisor.driver, ...free, images });
  }

  /** Waits for creates and changes in progress (used by tests). */
  async settle(): Promise<void> {
    while (this.building.size) await Promise.all([...this.building]);
    await this.changes.settle();
  }

  /**
   * Stops taking work: new offers are answered `not_applicable`, claims not yet decided give up (their
   * journals stay), and builds in progress get up to `graceMs` to finish. Returns how many are still
   * building; their journals make the next start finish them.
   */
  async stop(graceMs: number): Promise<number> {
    this.stopping.abort();
    this.changes.stop();
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([this.settle(), new Promise((r) => (timer = setTimeout(r, graceMs)))]);
    clearTimeout(timer);
    return this.building.size + this.changes.inProgress;
  }
}

/** A settled promise's value, or its error thrown. */
function settled<T>(result: PromiseSettledResult<T>): T {
  if (result.status === 'rejected') throw result.reason;
  return result.value;
}
