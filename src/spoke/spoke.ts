// What a spoke does beyond passing calls to its hypervisor: capacity net of in-flight creates, the claim
// that decides whether this host takes an offered create, and the async build that ends in a completion.
// A build in progress is written down (builds/<operation>.json) so that a spoke killed mid-build reports
// how it ended when it starts again, instead of leaving the create to the hub's reaper.
import { mkdir, readdir, readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import type { CompletionResult } from '~/contract/hub';
import { createInput, type Capacity, type CreateInput, type CreateOutput } from '~/contract/spoke';
import { writeFileAtomic } from '~/lib/atomic-write';
import { afterAnswer } from '~/lib/after-answer';
import { errorMessage, type Logger } from '~/lib/log';
import { trpcErrorCode } from '~/lib/trpc-errors';
import type { HubClient } from './hub-client';
import type { HostResources, Hypervisor, MeasuredResources } from './hypervisor/types';
import type { Outbox } from './outbox';

type Size = { memoryMb: number; diskGb: number };
/** Room promised to a create: while its claim is out (`claiming`, settles when the claim is decided), then
 * while it builds (the hypervisor does not count a domain's size until the domain is defined). */
type Reservation = Size & { settled?: Promise<void> };

export class Spoke {
  private readonly reserved = new Map<string, Reservation>();
  private readonly building = new Set<Promise<void>>();

  constructor(
    readonly hypervisor: Hypervisor,
    private readonly hub: HubClient,
    private readonly outbox: Outbox,
    private readonly log: Logger,
    private readonly buildsDir: string,
  ) {}

  private journalOf(operationId: string): string {
    return path.join(this.buildsDir, `${operationId}.json`);
  }

  /** Builds an earlier run of this spoke started and never finished: finish the report now. Returns how many. */
  async recoverInterruptedBuilds(): Promise<number> {
    await mkdir(this.buildsDir, { recursive: true });
    const files = (await readdir(this.buildsDir)).filter((f) => f.endsWith('.json'));
    let reported = 0;
    for (const file of files) {
      const spec = createInput.parse(JSON.parse(await readFile(path.join(this.buildsDir, file), 'utf8')));
      const log = this.log.child({ operationId: spec.operationId, capsulId: spec.id });
      if ((await this.claimedHere(spec.operationId)) === false) {
        log.info('interrupted offer: another host has the create');
        await rm(path.join(this.buildsDir, file), { force: true });
        continue;
      }
      const vm = await this.hypervisor.get(spec.id).catch(() => null);
      let result: CompletionResult;
      if (vm?.state === 'running' && vm.ipv4) {
        result = { ok: true, state: vm.state, ipv4: vm.ipv4, ipv6: vm.ipv6 };
        log.info('interrupted build had finished: reporting it running');
      } else {
        await this.hypervisor.destroy(spec.id).catch((err) => log.error('cleanup of an interrupted build failed', { err }));
        result = { ok: false, error: 'the spoke stopped while building this capsul; what was made is removed' };
        log.warn('interrupted build: removed, reporting it failed');
      }
      await this.outbox.add({ operationId: spec.operationId, result });
      await rm(path.join(this.buildsDir, file), { force: true });
      reported++;
    }
    return reported;
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
    // finds it when it starts again. A claim lost removes it; after a crash in between, recovery asks the hub.
    const journalFile = this.journalOf(offered.operationId);
    const journal = writeFileAtomic(journalFile, JSON.stringify(offered));
    let spec: CreateInput;
    try {
      spec = createInput.parse(await this.claim(offered.operationId));
    } catch (err) {
      this.reserved.delete(offered.id);
      settle();
      // After the answer (the hub waits on every host's): a crash before this is cleared up by recovery.
      const cleanup = journal.then(() => rm(journalFile, { force: true })).catch(() => undefined).finally(() => this.building.delete(cleanup));
      this.building.add(cleanup);
      const code = trpcErrorCode(err);
      if (code === 'CONFLICT') return { assignmentStatus: 'assigned_to_other_host' };
      if (code === 'NOT_FOUND' || code === 'PRECONDITION_FAILED') return { assignmentStatus: 'not_applicable', reason: errorMessage(err) };
      log.warn('claim failed', { err });
      throw new Error(`claim: ${errorMessage(err)}`, { cause: err });
    }
    delete reservation.settled; // won: the room stays promised while it builds
    settle();
    void afterAnswer().then(() => log.info('claimed create'));
    await journal;
    const work = this.build(spec, log).finally(() => this.building.delete(work));
    this.building.add(work);
    return { assignmentStatus: 'assigned' };
  }

  /**
   * Whether this host won a claim whose answer a crash may have cut off: the owner's repeated claim is
   * answered with the payload, another host's with CONFLICT (or the create is over). Undefined when the
   * hub cannot say now; the build is then treated as this host's, as the journal suggests.
   */
  private async claimedHere(operationId: string): Promise<boolean | undefined> {
    try {
      await this.claim(operationId);
      return true;
    } catch (err) {
      const code = trpcErrorCode(err);
      return code === 'CONFLICT' || code === 'NOT_FOUND' || code === 'PRECONDITION_FAILED' ? false : undefined;
    }
  }

  /**
   * The claim call, tried again (briefly) when the connection to the hub could not even be made: the request
   * was never sent, so trying again cannot claim twice (and a repeated claim by the winner is harmless anyway).
   */
  private async claim(operationId: string): Promise<unknown> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.hub.spoke.claimOperation.mutate({ operationId });
      } catch (err) {
        const notSent = /UND_ERR_CONNECT_TIMEOUT|ECONNREFUSED|Connect Timeout/.test(`${errorMessage(err)} ${JSON.stringify((err as { cause?: { cause?: { code?: string } } }).cause?.cause?.code ?? '')}`);
        if (!notSent || attempt >= 2) throw err;
        await new Promise((r) => setTimeout(r, 200 * (attempt + 1)));
      }
    }
  }

  private async build(spec: CreateInput, log: Logger): Promise<void> {
    // The answer to the offer goes out first: the hub is waiting on it, the build is not.
    await afterAnswer();
    let result: CompletionResult;
    try {
      const vm = await this.hypervisor.create(spec, log);
      result = { ok: true, state: vm.state, ipv4: vm.ipv4, ipv6: vm.ipv6 };
    } catch (err) {
      log.error('create failed', { err });
      result = { ok: false, error: errorMessage(err).slice(0, 4000) };
    } finally {
      this.reserved.delete(spec.id);
    }
    await this.outbox.add({ operationId: spec.operationId, result });
    await rm(this.journalOf(spec.operationId), { force: true });
  }

  /** Tells the hub this spoke is alive (and which driver it runs); throws when the hub does not answer. */
  async heartbeatHub(): Promise<void> {
    // Capacity rides along; if the hypervisor cannot say, the heartbeat still proves reachability.
    const free = await this.hypervisor.resources().then((r) => this.free(r), () => undefined);
    await this.hub.spoke.heartbeat.mutate({ driver: this.hypervisor.driver, ...free });
  }

  /** Waits for creates in progress (used at shutdown and by tests). */
  async settle(): Promise<void> {
    await Promise.all([...this.building]);
  }
}

/** A settled promise's value, or its error thrown. */
function settled<T>(result: PromiseSettledResult<T>): T {
  if (result.status === 'rejected') throw result.reason;
  return result.value;
}
