// Usage graphs in a real browser, against a hub and fake-driver spokes that sample twice a second: a capsul's
// Usage card draws its points and keeps adding them, each range is asked for and shows its graphs or says why
// it has none yet, the page fits a phone, another account cannot read the series, and an admin sees the
// fleet's graphs and the top capsuls, linked to their pages.
import { expect, test, type Locator, type Page } from '@playwright/test';
import { signIn } from './support/console';
import { shot } from './support/screenshots';
import { ADMIN, startStack, type Stack } from './support/stack';

const ALICE = 'alice@example.com';
const FAST_SAMPLES = { USAGE_SAMPLE_PERIOD_MS: '500' };

test.describe.configure({ mode: 'serial' });
// The axes are drawn in the browser's zone, and the page says which.
test.use({ timezoneId: 'Europe/Berlin' });

let stack: Stack;
let capsulId: string;

test.beforeAll(async () => {
  stack = await startStack([FAST_SAMPLES, FAST_SAMPLES]);
  ({ capsulId } = await stack.hub.admin.capsul.create.mutate({ owner: ALICE, image: 'debian-12', size: 'nano', name: 'alice-graphs' }));
});
test.afterAll(async () => {
  await stack?.stop();
});

const points = async (target: Locator) => Number(await target.getAttribute('data-points'));

/** Clicks a range button and waits for the request for that range and for the card to show it. */
async function showRange(page: Page, card: Locator, label: string, range: string) {
  const asked = page.waitForRequest((r) => r.url().includes('usage.capsul') && decodeURIComponent(r.url()).includes(`"range":"${range}"`));
  await card.getByRole('button', { name: label, exact: true }).click();
  await asked;
  await expect(card.getByRole('button', { name: label, exact: true })).toHaveAttribute('aria-pressed', 'true');
  await expect(card).toHaveAttribute('data-range', range);
}

test("a member's capsul page draws its usage, live, in every range", async ({ page }) => {
  await signIn(page, stack, ALICE);
  await page.goto(`${stack.url}/capsuls/${capsulId}`);
  await expect(page.getByTestId('capsul-state')).toHaveText('running', { timeout: 30_000 });
  const card = page.getByRole('region', { name: 'Usage' });
  await expect(card.getByText("Simulated numbers: this capsul's host runs the fake driver.")).toBeVisible();
  await expect(card.getByTestId('usage-time-zone')).toHaveText('Times in Europe/Berlin.');

  // The hour: four graphs, each a uPlot canvas with points, and more points as samples arrive.
  await expect(card).toHaveAttribute('data-range', 'hour');
  for (const chart of ['cpu', 'memory', 'network', 'disk']) {
    await expect(card.getByTestId(`usage-chart-${chart}`).locator('canvas')).toBeVisible();
    await expect.poll(() => points(card.getByTestId(`usage-chart-${chart}`))).toBeGreaterThan(0);
  }
  await expect(card.getByTestId('usage-chart-cpu')).toContainText('CPU (% of 1 vCPU)');
  await expect(card.getByTestId('usage-chart-memory')).toContainText(/Memory \(of \d+ MiB\)/);
  // Each line in the legend, and units on the axis.
  await expect(card.getByTestId('usage-chart-network').locator('.u-legend')).toContainText(/In.*Out/);
  await expect(card.getByTestId('usage-chart-memory').locator('.u-legend')).toContainText(/Used.*Size/);
  const before = await points(card);
  await expect.poll(() => points(card), { timeout: 15_000 }).toBeGreaterThan(before);
  await shot(card, 'usage-card');

  // The day: 5-minute averages of the raw points, so the current one is there already.
  await showRange(page, card, 'Day', 'day');
  await expect(card.getByTestId('usage-chart-cpu').locator('canvas')).toBeVisible();
  await expect.poll(() => points(card)).toBeGreaterThan(0);
  // Month and year read rollups a new capsul does not have yet: the card says so.
  await showRange(page, card, 'Month', 'month');
  await expect(card.getByTestId('usage-empty')).toContainText('Month view shows hourly averages');
  await expect(card.locator('canvas')).toHaveCount(0);
  await showRange(page, card, 'Year', 'year');
  await expect(card.getByTestId('usage-empty')).toContainText('Year view shows daily averages');
  await showRange(page, card, 'Hour', 'hour');
  await expect(card.locator('canvas')).toHaveCount(4);

  // At a phone's width the graphs fit the screen.
  await page.setViewportSize({ width: 390, height: 844 });
  await expect.poll(() => page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth)).toBeLessThanOrEqual(0);
  const width = await card.getByTestId('usage-chart-cpu').locator('canvas').first().evaluate((c) => c.getBoundingClientRect().width);
  expect(width).toBeLessThanOrEqual(390);
  expect(width).toBeGreaterThan(200);
  await shot(card, 'usage-card-phone');
  await page.setViewportSize({ width: 1280, height: 720 });
});

test("another account cannot read that capsul's usage", async ({ page }) => {
  await signIn(page, stack, 'bob@example.com');
  const answer = await page.evaluate(async (id) => {
    const res = await fetch(`/api/trpc/usage.capsul?input=${encodeURIComponent(JSON.stringify({ json: { capsulId: id, range: 'hour' } }))}`);
    return { status: res.status, body: await res.text() };
  }, capsulId);
  expect(answer.status).toBe(404);
  expect(JSON.parse(answer.body).error.json.data.code).toBe('NOT_FOUND');
  expect(answer.body).not.toContain('cpuPercent');
});

test('an admin sees the fleet, one host, and the top capsuls linked to their pages', async ({ page }) => {
  await signIn(page, stack, ADMIN);
  await page.getByRole('link', { name: 'Usage' }).click();
  await expect(page.getByRole('heading', { name: 'Usage', level: 1 })).toBeVisible();
  const fleet = page.getByTestId('fleet-usage');
  await expect(fleet.locator('canvas')).toHaveCount(3);
  await expect.poll(() => points(fleet)).toBeGreaterThan(0);
  const host = page.getByTestId('host-usage');
  await page.getByLabel('Host', { exact: true }).selectOption('spoke-2');
  await expect(host.locator('canvas')).toHaveCount(3);
  await expect(page.getByTestId('usage-time-zone')).toHaveText('Times in Europe/Berlin.');

  const top = page.getByTestId('top-by-cpu');
  await expect(top.locator(`tr[data-capsul="${capsulId}"]`)).toContainText(ALICE);
  await expect(page.getByTestId('top-by-traffic').locator(`tr[data-capsul="${capsulId}"]`)).toContainText(/(B|KiB|MiB)\/s/);
  await page.getByRole('group', { name: 'Top capsuls range' }).getByRole('button', { name: 'Day' }).click();
  await expect(top.locator(`tr[data-capsul="${capsulId}"]`)).toBeVisible();
  await shot(page, 'admin-usage');
  await top.getByRole('link', { name: 'alice-graphs' }).click();
  await expect(page).toHaveURL(`${stack.url}/capsuls/${capsulId}`);
  await expect(page.getByRole('region', { name: 'Usage' }).locator('canvas')).toHaveCount(4);
});
