import { mkdirSync } from "node:fs";
import { join } from "node:path";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it, onTestFailed } from "vitest";
import { launchBrowser, SCREENSHOTS, watchedPage } from "../helpers/browser.js";
import { postHook, startTestDaemon, type TestDaemon } from "../helpers/daemon.js";
import { fixtureJson } from "../helpers/fixtures.js";
import { recordingSink } from "../helpers/recording-sink.js";

const ADMIN = "dashboard-admin-token-42";

let browser: Browser;
let t: TestDaemon;
const recorder = recordingSink("recorder");
// A sink whose downstream refuses its token for issues: what a revoked GITLAB_TOKEN looks like.
const gatekeeper = recordingSink(
  "gatekeeper",
  () => {
    throw Object.assign(new Error("GitLab refused the bot's token (401 Unauthorized)"), { status: 401 });
  },
  { accepts: (event) => event.type === "issue" },
);

beforeAll(async () => {
  browser = await launchBrowser();
  t = await startTestDaemon(
    { ADMIN_TOKEN: ADMIN, SINKS_ENABLED: "sse,log,recorder,gatekeeper", MAX_ATTEMPTS: "2" },
    { recorder: recorder.factory, gatekeeper: gatekeeper.factory },
  );
});
afterAll(async () => {
  await browser?.close();
  await t?.close();
});

/** A page signed in with the admin token, that keeps a screenshot if the test fails. */
async function signedInPage(name: string, viewport = { width: 1280, height: 900 }): Promise<{ page: Page; errors: string[] }> {
  const { page, errors } = await watchedPage(browser, name, viewport);
  await page.goto(`${t.url}/`);
  await page.evaluate((token) => sessionStorage.setItem("gitlab-webhooks-admin-token", token), ADMIN);
  await page.reload();
  await page.locator("#live.on").waitFor();
  return { page, errors };
}

async function post(body: object, event: string): Promise<number> {
  const response = await postHook(t.url, body, { event });
  expect(response.status).toBe(202);
  return ((await response.json()) as { id: number }).id;
}

const mergeRequest = () => fixtureJson("project__merge_request_open.json");

describe("dashboard", () => {
  it("asks for the token under its own CSP, then shows events live with their sinks", async () => {
    const page = await browser.newPage();
    onTestFailed(async () => {
      mkdirSync(SCREENSHOTS, { recursive: true });
      await page.screenshot({ path: join(SCREENSHOTS, "sign-in.png"), fullPage: true }).catch(() => {});
    });
    const errors: string[] = [];
    page.on("pageerror", (error) => errors.push(error.message));
    const loaded = await page.goto(`${t.url}/`);
    expect(loaded?.headers()["content-security-policy"]).toMatch(/default-src 'none'; script-src 'self'.*frame-ancestors 'none'/);
    expect(loaded?.headers()["x-frame-options"]).toBe("DENY");
    await page.getByLabel("Admin token").fill("wrong-token");
    await page.getByRole("button", { name: "Open dashboard" }).click();
    await expect.poll(() => page.locator("#login-error").textContent()).toMatch(/not one of ADMIN_TOKEN/);

    await page.getByLabel("Admin token").fill(ADMIN);
    await page.getByRole("button", { name: "Open dashboard" }).click();
    await page.locator("#live.on").waitFor();
    expect(await page.evaluate(() => sessionStorage.getItem("gitlab-webhooks-admin-token"))).toBe(ADMIN);

    // A posted event appears without reloading: its title, project, author and per-sink state.
    const id = await post(mergeRequest(), "Merge Request Hook");
    const row = page.locator(`#events tr[data-id="${id}"]`);
    await row.waitFor();
    expect(await row.textContent()).toMatch(
      /merge_request · open.*Add input validation to booking form.*flightjs\/flight-management.*@agarcia/,
    );
    await expect.poll(() => row.locator(".deliveries").textContent(), { timeout: 5000 }).toMatch(/recorder: delivered/);
    // Times in UTC, the local time on hover.
    const received = row.locator("time");
    expect(await received.textContent()).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC$/);
    expect(await received.getAttribute("title")).toBeTruthy();
    expect(errors).toEqual([]);
    await page.close();
  });

  it("opens an event: normalized fields, stored headers, collapsible payload, every attempt; redelivers to one sink after a confirmation", async () => {
    const { page, errors } = await signedInPage("event-page");
    const id = await post(mergeRequest(), "Merge Request Hook");
    await page.locator(`#events tr[data-id="${id}"] a`).first().click();
    await expect
      .poll(() => page.locator("#event-title").textContent())
      .toMatch(new RegExp(`^#${id} merge_request · open — Add input validation to booking form`));
    const facts = await page.locator("#event-facts").textContent();
    expect(facts).toMatch(/projectflightjs\/flight-management \(private\)/);
    expect(facts).toMatch(/by@agarcia Alex Garcia/);
    expect(await page.locator("#event-facts a", { hasText: "Add input validation" }).getAttribute("href")).toBe(
      "http://gitlab.example.com/flightjs/flight-management/-/merge_requests/16",
    );
    // The request as GitLab sent it, the token left out.
    const headers = await page.locator("#event-headers").textContent();
    expect(headers).toContain("x-gitlab-eventMerge Request Hook");
    expect(headers).not.toMatch(/x-gitlab-token|test-source-token/i);
    // The payload opens level by level.
    const payload = page.locator("#event-payload");
    expect(await payload.textContent()).toContain("object_attributes: {");
    expect(await payload.textContent()).not.toContain("booking form");
    await payload.locator("summary", { hasText: "object_attributes" }).click();
    await expect.poll(() => payload.textContent()).toContain('title: "Add input validation to booking form"');

    // Each sink's attempts: when, how long, what happened.
    const block = page.locator('#event-deliveries article[data-sink="recorder"]');
    await expect.poll(() => block.textContent(), { timeout: 5000 }).toMatch(/recorder delivered 1 attempt/);
    expect(await block.locator("table.attempts tbody tr").first().textContent()).toMatch(/UTC(<1|\d+) ms|UTC\d+\.\d s/);

    // Cancelling asks nothing of the daemon; confirming redelivers to that sink only, and the page follows.
    const before = recorder.recording.delivered.filter((delivered) => delivered === id).length;
    await block.getByRole("button", { name: "Redeliver to recorder" }).click();
    await expect.poll(() => page.locator("#confirm-text").textContent()).toMatch(new RegExp(`Deliver event #${id} again to recorder\\?`));
    await page.getByRole("button", { name: "Cancel" }).click();
    await block.getByRole("button", { name: "Redeliver to recorder" }).click();
    await page.locator("#confirm-yes").click();
    await expect.poll(() => page.locator("#notice").textContent()).toBe(`Event #${id} queued again for recorder.`);
    await expect
      .poll(() => recorder.recording.delivered.filter((delivered) => delivered === id).length, { timeout: 5000 })
      .toBe(before + 1);
    await expect.poll(() => block.locator("table.attempts tbody tr").count(), { timeout: 5000 }).toBe(1);
    await expect.poll(() => block.textContent(), { timeout: 5000 }).toMatch(/recorder delivered 1 attempt/);
    expect(errors).toEqual([]);
    await page.close();
  });

  it("shows why a delivery failed where it is, and the failing sink on the health panel", async () => {
    const { page, errors } = await signedInPage("failure");
    const id = await post(fixtureJson("project__issue.json"), "Issue Hook");
    const row = page.locator(`#events tr[data-id="${id}"]`);
    // The reason is on the page, not in a tooltip, with what kind of failure it is.
    await expect
      .poll(() => row.locator(".deliveries").textContent(), { timeout: 8000 })
      .toMatch(/gatekeeper: failed configuration \(HTTP 401\)GitLab refused the bot's token/);
    await row.locator("a").first().click();
    const block = page.locator('#event-deliveries article[data-sink="gatekeeper"]');
    await expect.poll(() => block.locator("table.attempts tbody tr").count(), { timeout: 5000 }).toBe(2);
    expect(await block.locator("table.attempts tbody tr").first().textContent()).toMatch(
      /retry.*configuration \(HTTP 401\).*refused the bot's token/,
    );

    const sink = page.locator('#sinks tr[data-sink="gatekeeper"]');
    await expect.poll(() => sink.textContent(), { timeout: 8000 }).toMatch(/failing.*refuses its credentials \(HTTP 401\).*since .*UTC/);
    expect(await sink.textContent()).toMatch(/failed 1/);
    expect(await page.locator("#daemon-facts").textContent()).toMatch(
      /version \d+\.\d+\.\d+ · up .* · store sqlite .*\.sqlite · \d+ feed subscribers?/,
    );
    expect(errors).toEqual([]);
    await page.close();
  });

  it("filters by GitLab's hook-scope name and by words, and pages through the list", async () => {
    const { page } = await signedInPage("filters");
    await post(mergeRequest(), "Merge Request Hook");
    for (let i = 0; i < 30; i++)
      await post(
        { object_kind: "push", ref: `refs/heads/b${i}`, project: { id: 77, path_with_namespace: "pager/project", visibility_level: 20 } },
        "Push Hook",
      );
    await page.getByLabel("Project", { exact: true }).fill("pager/project");
    await page.getByRole("button", { name: "Filter" }).click();
    // The filtered page, not the unfiltered one it replaces.
    const rows = () => page.locator("#events tbody tr").allTextContents();
    await expect.poll(async () => (await rows()).filter((text) => text.includes("pager/project")).length, { timeout: 5000 }).toBe(25);
    await expect.poll(async () => (await rows()).length).toBe(25);
    expect(page.url()).toContain("project=pager%2Fproject");
    await page.getByRole("button", { name: "Older" }).click();
    await expect.poll(() => page.locator("#events tbody tr").count(), { timeout: 5000 }).toBe(5);
    expect(await page.getByRole("button", { name: "Older" }).isDisabled()).toBe(true);
    await page.getByRole("button", { name: "Newer" }).click();
    await expect.poll(() => page.locator("#events tbody tr").count(), { timeout: 5000 }).toBe(25);

    await page.getByRole("button", { name: "Clear" }).click();
    await page.getByLabel("Type", { exact: true }).fill("merge_requests");
    await page.getByRole("button", { name: "Filter" }).click();
    await expect
      .poll(async () => (await page.locator("#events tbody tr").allTextContents()).every((text) => text.includes("merge_request")))
      .toBe(true);
    expect(await page.locator("#events tbody tr").count()).toBeGreaterThan(0);

    await page.getByRole("button", { name: "Clear" }).click();
    await page.getByLabel("Search").fill("no-event-says-this");
    await page.getByRole("button", { name: "Filter" }).click();
    await page.locator("#empty:not([hidden])").waitFor();
    await page.close();
  });

  it("is usable 400 px wide: nothing scrolls sideways", async () => {
    const { page } = await signedInPage("narrow", { width: 400, height: 800 });
    await post(mergeRequest(), "Merge Request Hook");
    await expect.poll(() => page.locator("#events tbody tr").count()).toBeGreaterThan(0);
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(400);
    await page.locator("#events tbody tr a").first().click();
    await page.locator("#event-page:not([hidden])").waitFor();
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(400);
    await page.close();
  });

  it("renders event fields as text, never as markup, and links only to http(s)", async () => {
    const { page } = await signedInPage("hostile");
    const hostile = {
      object_kind: "issue",
      object_attributes: { iid: 1, title: '<img src=x onerror="window.pwned=1">', url: "javascript:window.pwned=2" },
      project: { id: 9, path_with_namespace: '<img src=x onerror="window.pwned=3">', visibility_level: 20 },
    };
    const id = await post(hostile, "Issue Hook");
    const row = page.locator(`#events tr[data-id="${id}"]`);
    await row.waitFor();
    expect(await row.textContent()).toContain("<img src=x");
    await row.locator("a").first().click();
    await expect.poll(() => page.locator("#event-title").textContent()).toContain("<img src=x");
    expect(await page.locator("img").count()).toBe(0);
    expect(await page.locator('a[href^="javascript:"]').count()).toBe(0);
    expect(await page.evaluate(() => (window as unknown as { pwned?: number }).pwned)).toBeUndefined();
    await page.close();
  });

  // Last: it stops the daemon.
  it("says since when it is offline, and clears what it said before", async () => {
    const { page } = await signedInPage("offline");
    await page.evaluate(() => {
      document.querySelector("#notice")!.textContent = "Event #1 queued again for recorder.";
    });
    await t.close();
    await page.locator("#live.off").waitFor({ timeout: 10_000 });
    expect(await page.locator("#live").textContent()).toMatch(/^offline since \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC$/);
    expect(await page.locator("#notice").textContent()).toBe("");
    await page.close();
  });
});
