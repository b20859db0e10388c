// The documentation's screenshots (docs/screenshots), taken by the browser tests when CAPSUL_SCREENSHOTS is set.
import type { Locator, Page } from '@playwright/test';

const SHOTS = process.env.CAPSUL_SCREENSHOTS ? 'docs/screenshots' : undefined;

/** The whole page, or one element of it, as docs/screenshots/<name>.png. */
export async function shot(target: Page | Locator, name: string) {
  if (!SHOTS) return;
  const path = `${SHOTS}/${name}.png`;
  if ('goto' in target) await target.screenshot({ path, fullPage: true });
  else await target.screenshot({ path });
}
