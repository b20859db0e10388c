// The quick start's first image (PROVIDE_TEST_GUEST, on in scripts/start.sh): in a combined process whose
// local spoke runs libvirt, the tiny test guest (Debian's cloud kernel and a busybox initramfs, fetched with
// `apt-get download`, see scripts/build-test-guest.ts) is built into the spoke's images folder and listed in
// the catalog when it is missing, so a newcomer's first capsul boots with no step done by hand. It runs in
// the background and never stops the start: when it cannot build, it says why and how to try again.
import { access, constants } from 'node:fs/promises';
import path from 'node:path';
import { buildTestGuest, TEST_GUEST } from '../scripts/build-test-guest';
import type { Env } from './env';
import type { Db } from './hub/db/client';
import { errorMessage, type Logger } from './lib/log';

/** How the catalog labels it: plainly a test guest, not an operating system to rent out. */
export const TEST_GUEST_NAME = 'Test guest (busybox: boots in seconds, not a full OS)';

async function present(dir: string): Promise<boolean> {
  const files = [TEST_GUEST.file, TEST_GUEST.kernel, TEST_GUEST.initrd].map((f) => path.join(dir, f));
  return (await Promise.all(files.map((f) => access(f, constants.R_OK).then(() => true, () => false)))).every(Boolean);
}

export async function provideTestGuest(opts: { env: Env; db: Db; log: Logger; driver: string; announce: () => Promise<void> }): Promise<void> {
  const { env, db, driver } = opts;
  const log = opts.log.child({ role: 'quick-start' });
  if (driver !== 'libvirt') return; // the fake driver has every image without files
  const row = await db.osImage.findUnique({ where: { id: TEST_GUEST.id } });
  if (row && !row.enabled) return; // an operator turned it off: left as it is
  const dir = env.SPOKE_IMAGES_DIR;
  if (!(await present(dir))) {
    const retry = `npm run test-guest -- ${dir}, then start again; or fetch a real image: npm run capsul -- image fetch (README, "Real VMs")`;
    log.info(`building the test guest image into ${dir} so the first capsul has something to boot: Debian's cloud kernel and busybox, fetched with apt-get download (about 20 MB, once); the console offers it when this is done`);
    const started = Date.now();
    try {
      await buildTestGuest(dir, path.join(env.DATA_DIR, 'cache/test-guest'));
    } catch (err) {
      log.warn(`the test guest image could not be built (${errorMessage(err)}); the hub and spoke run on without it. To try again: ${retry}`);
      return;
    }
    log.info(`test guest image built in ${Math.round((Date.now() - started) / 1000)} s`, { dir });
  }
  if (!row) {
    const { id, file, kernel, initrd, cmdline } = TEST_GUEST;
    await db.osImage.create({ data: { id, name: TEST_GUEST_NAME, file, kernel, initrd, cmdline, loginUser: 'root', sortOrder: 900 } });
    log.info(`"${TEST_GUEST_NAME}" added to the catalog as ${id}`);
  }
  // Tell the hub now that the files are there, rather than at the next heartbeat.
  await opts.announce().catch(() => undefined);
}
