import { mkdirSync } from "node:fs";
import { join } from "node:path";
import type { Browser, Locator, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { launchBrowser, SCREENSHOTS, watchedPage } from "../helpers/browser.js";
import { postHook, startTestDaemon, waitFor, type TestDaemon } from "../helpers/daemon.js";
import { fixtureJson } from "../helpers/fixtures.js";
import { recordingSink } from "../helpers/recording-sink.js";
import { sleep } from "../helpers/sleep.js";

const ADMIN = "traffic-admin-token-7";

let browser: Browser;
let t: TestDaemon;
let off: TestDaemon;
const recorder = recordingSink("recorder");
// Refuses issues: each is retried once, then dead-lettered (MAX_ATTEMPTS=2).
const gatekeeper = recordingSink(
  "gatekeeper",
  () => {
    throw new Error("downstream said no");
  },
  { accepts: (event) => event.type === "issue" },
);

beforeAll(async () => {
  browser = await launchBrowser();
  t = await startTestDaemon(
    { ADMIN_TOKEN: ADMIN, SINKS_ENABLED: "sse,recorder,gatekeeper", LOG_EVENTS_TO: "", MAX_ATTEMPTS: "2" },
    { recorder: recorder.factory, gatekeeper: gatekeeper.factory },
  );
  off = await startTestDaemon({ SINKS_ENABLED: "sse", LOG_EVENTS_TO: "" });
});
afterAll(async () => {
  await browser?.close();
  await t?.close();
  await off?.close();
});

const page = (name: string, viewport?: { width: number; height: number }) => watchedPage(browser, name, viewport);

async function signIn(opened: Page): Promise<void> {
  await opened.goto(`${t.url}/`);
  await opened.evaluate((token) => sessionStorage.setItem("gitlab-webhooks-admin-token", token), ADMIN);
  await opened.reload();
  await opened.locator("#live.on").waitFor();
}

async function box(locator: Locator): Promise<{ x: number; y: number; width: number; height: number }> {
  const found = await locator.boundingBox();
  if (!found) throw new Error("not drawn");
  return found;
}

describe("dashboard, following the events elsewhere", () => {
  it("gives the forward and smee-client commands with this daemon's own feed address", async () => {
    const { page: opened, errors } = await page("follow");
    await signIn(opened);
    const forward = (await opened.locator("#follow-forward").textContent()) ?? "";
    const smee = (await opened.locator("#follow-smee").textContent()) ?? "";
    expect(forward).toBe(`npx gitlab-webhooks forward --from ${t.url}/sse/ --token "$SSE_TOKEN" --to http://localhost:3000/webhook`);
    expect(smee).toBe(`npx smee-client --url '${t.url}/sse/?format=smee&token=…' --target http://localhost:3000/webhook`);
    expect((await box(opened.locator("#follow-forward"))).width).toBeGreaterThan(100);
    expect(errors).toEqual([]);
  });
});

describe("dashboard, first visit", () => {
  it("without ADMIN_TOKEN says the admin API is off and how to turn it on, instead of asking for a token", async () => {
    const { page: opened, errors } = await page("admin-off");
    await opened.goto(`${off.url}/`);
    await opened.locator("#admin-off").waitFor();
    expect(await opened.locator("#admin-off").textContent()).toMatch(/The admin API is off[\s\S]*Set ADMIN_TOKEN[\s\S]*restart it/);
    expect(await opened.locator("#login").isVisible()).toBe(false);
    expect(await opened.locator("#live").isVisible()).toBe(false);
    expect(await opened.getByText("offline").count()).toBe(0);
    expect(errors).toEqual([]);
    await opened.close();
  });

  it("asks for a token without saying offline when ADMIN_TOKEN is set", async () => {
    const { page: opened, errors } = await page("login");
    await opened.goto(`${t.url}/`);
    await opened.getByLabel("Admin token").waitFor();
    await sleep(300);
    expect(await opened.locator("#admin-off").isVisible()).toBe(false);
    expect(await opened.locator("#live").isVisible()).toBe(false);
    expect(errors).toEqual([]);
    await opened.close();
  });

  it("offers only sinks with a queue as a delivery filter, and says the feed has none", async () => {
    const { page: opened, errors } = await page("sinks");
    await signIn(opened);
    await opened.locator('#sinks tr[data-sink="sse"]').waitFor();
    expect(await opened.locator("#filters [name=sink] option").allTextContents()).toEqual(["any", "recorder", "gatekeeper"]);
    expect(await opened.locator('#sinks tr[data-sink="sse"]').textContent()).toContain(
      "no queue: live from the bus, replays from the store",
    );
    expect(await opened.locator('#sinks tr[data-sink="recorder"]').textContent()).toMatch(/pending \d+ · in flight \d+ · failed \d+/);
    expect(errors).toEqual([]);
    await opened.close();
  });
});

describe("dashboard traffic panel", () => {
  it("draws events per minute and each sink's deliveries, retries and failures, with its delays, readable at 400 px", async () => {
    for (let i = 0; i < 3; i++) expect((await postHook(t.url, fixtureJson("project__push.json"))).status).toBe(202);
    expect((await postHook(t.url, fixtureJson("project__issue.json"), { event: "Issue Hook" })).status).toBe(202);
    const admin = { headers: { Authorization: `Bearer ${ADMIN}` } };
    await waitFor(
      async () => {
        const failed = (await (await fetch(`${t.url}/api/deliveries?status=failed&sink=gatekeeper`, admin)).json()) as {
          deliveries: unknown[];
        };
        const delivered = (await (await fetch(`${t.url}/api/deliveries?status=delivered&sink=recorder`, admin)).json()) as {
          deliveries: unknown[];
        };
        return failed.deliveries.length === 1 && delivered.deliveries.length === 4 ? true : undefined;
      },
      10_000,
      "every delivery's outcome",
    );

    const { page: opened, errors } = await page("traffic", { width: 400, height: 900 });
    await signIn(opened);
    const charts = opened.locator("#traffic-charts figure.chart");
    await expect.poll(() => charts.count()).toBe(3);
    // The feed has no queue: no chart of its own.
    expect(await opened.locator('#traffic-charts figure[data-sink="sse"]').count()).toBe(0);
    mkdirSync(SCREENSHOTS, { recursive: true });
    await opened.locator("#traffic").screenshot({ path: join(SCREENSHOTS, "traffic-400.png") });

    // Each chart fits the phone's width and has room to read.
    for (const chart of await charts.all()) {
      const area = await box(chart.locator("svg"));
      expect(area.width).toBeGreaterThan(300);
      expect(area.x + area.width).toBeLessThanOrEqual(400);
      expect(area.height).toBeGreaterThanOrEqual(60);
    }

    /** The bars of a chart: their counts, slots and sizes, and the chart's height. */
    const bars = async (chart: Locator, kind: string) => {
      const area = await box(chart.locator("svg"));
      const drawn = [];
      for (const bar of await chart.locator(`rect.bar.${kind}`).all()) {
        drawn.push({
          count: Number(await bar.getAttribute("data-count")),
          slot: Number(await bar.getAttribute("data-slot")),
          ...(await box(bar)),
        });
      }
      return { drawn, height: area.height, width: area.width };
    };

    // Four events: the bars add up to them; the tallest bar is the chart's height, a few pixels wide.
    const received = await bars(charts.nth(0), "received");
    expect(received.drawn.reduce((sum, bar) => sum + bar.count, 0)).toBe(4);
    const tallest = Math.max(...received.drawn.map((bar) => bar.count));
    for (const bar of received.drawn) {
      expect(bar.width).toBeGreaterThan(2);
      expect(bar.width).toBeLessThan(received.width / 50);
      expect(bar.height).toBeCloseTo((bar.count / tallest) * received.height, 0);
    }

    const recorderChart = opened.locator('#traffic-charts figure[data-sink="recorder"]');
    const delivered = await bars(recorderChart, "delivered");
    expect(delivered.drawn.reduce((sum, bar) => sum + bar.count, 0)).toBe(4);
    expect(Math.max(...delivered.drawn.map((bar) => bar.height))).toBeCloseTo(delivered.height, 0);
    expect(await recorderChart.locator("h3").textContent()).toMatch(
      /delay p50 (<1 ms|\d+ ms|\d+\.\d s) · p95 (<1 ms|\d+ ms|\d+\.\d s) \(4\)/,
    );

    // The refused issue: one retry and one dead letter, stacked in one bar when in the same slot.
    const gateChart = opened.locator('#traffic-charts figure[data-sink="gatekeeper"]');
    const [retried] = (await bars(gateChart, "retried")).drawn;
    const {
      drawn: [failed],
      height,
    } = await bars(gateChart, "failed");
    expect(retried?.count).toBe(1);
    expect(failed?.count).toBe(1);
    if (retried && failed) {
      const sameSlot = retried.slot === failed.slot;
      expect(retried.height).toBeCloseTo(sameSlot ? height / 2 : height, 0);
      expect(failed.height).toBeCloseTo(sameSlot ? height / 2 : height, 0);
      if (sameSlot) expect(failed.y + failed.height).toBeCloseTo(retried.y, 0);
    }
    expect(await gateChart.locator("h3").textContent()).toContain("no deliveries");
    // Every bar says its numbers on hover.
    expect(await gateChart.locator("rect.bar.failed title").textContent()).toMatch(
      /^\d\d:\d\d–\d\d:\d\d UTC: 0 delivered, \d retried, 1 failed \(0\.\d+\/min\)$/,
    );
    expect(errors).toEqual([]);
    await opened.close();
  });

  it("serves the same numbers from GET /api/traffic", async () => {
    const response = await fetch(`${t.url}/api/traffic`, { headers: { Authorization: `Bearer ${ADMIN}` } });
    expect(response.status).toBe(200);
    const traffic = (await response.json()) as {
      since: string;
      until: string;
      received: { minute: string; count: number }[];
      sinks: { name: string; delivered: unknown[]; delayMs: unknown }[];
    };
    expect(Date.parse(traffic.until) - Date.parse(traffic.since)).toBe(24 * 3_600_000);
    expect(traffic.received.reduce((sum, minute) => sum + minute.count, 0)).toBe(4);
    expect(traffic.received[0]?.minute).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:00\.000Z$/);
    expect(traffic.sinks.map((sink) => sink.name)).toEqual(["sse", "recorder", "gatekeeper"]);
    expect(traffic.sinks[1]?.delayMs).toMatchObject({ count: 4 });
    expect((await fetch(`${t.url}/api/traffic?hours=48`, { headers: { Authorization: `Bearer ${ADMIN}` } })).status).toBe(400);
  });
});
