import type { Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { launchBrowser } from "./helpers/browser.js";
import { postHook, startTestDaemon, type TestDaemon } from "./helpers/daemon.js";
import { fixtureJson } from "./helpers/fixtures.js";
import { recordingSink } from "./helpers/recording-sink.js";

const ADMIN = "dashboard-admin-token-42";

let browser: Browser;
let t: TestDaemon;
const recorder = recordingSink("recorder");

beforeAll(async () => {
  browser = await launchBrowser();
  t = await startTestDaemon({ ADMIN_TOKEN: ADMIN, SINKS_ENABLED: "sse,log,recorder" }, { recorder: recorder.factory });
});
afterAll(async () => {
  await browser?.close();
  await t?.close();
});

describe("dashboard", () => {
  it("asks for the token, shows events live with their sinks, and redelivers one", async () => {
    const page = await browser.newPage();
    const errors: string[] = [];
    page.on("pageerror", (error) => errors.push(error.message));
    page.on("console", (message) => {
      if (/Content Security Policy/i.test(message.text())) errors.push(message.text());
    });
    const loaded = await page.goto(`${t.url}/`);
    // The page works under its own Content-Security-Policy, and no other site may frame it.
    expect(loaded?.headers()["content-security-policy"]).toMatch(/default-src 'none'; script-src 'self'.*frame-ancestors 'none'/);
    expect(loaded?.headers()["x-frame-options"]).toBe("DENY");
    await page.getByLabel("Admin token").fill("wrong-token");
    await page.getByRole("button", { name: "Open dashboard" }).click();
    await expect.poll(() => page.locator("#login-error").textContent()).toMatch(/not one of ADMIN_TOKEN/);

    await page.getByLabel("Admin token").fill(ADMIN);
    await page.getByRole("button", { name: "Open dashboard" }).click();
    await page.locator("#live.on").waitFor();
    expect(await page.locator("#sinks tbody tr").allTextContents()).toEqual(expect.arrayContaining([expect.stringMatching(/^recorder/)]));
    expect(await page.evaluate(() => sessionStorage.getItem("gitlab-webhooks-admin-token"))).toBe(ADMIN);

    // A posted event appears without reloading, with its per-sink state.
    const response = await postHook(t.url, fixtureJson("project__merge_request_open.json"), { event: "Merge Request Hook" });
    const { id } = (await response.json()) as { id: number };
    const row = page.locator(`#events tr[data-id="${id}"]`);
    await row.waitFor();
    expect(await row.textContent()).toContain("flightjs/flight-management");
    await expect.poll(() => row.locator(".deliveries").textContent(), { timeout: 5000 }).toMatch(/recorder: delivered/);

    await row.getByRole("button", { name: "Redeliver" }).click();
    await expect.poll(() => page.locator("#notice").textContent()).toMatch(new RegExp(`Event #${id} queued again for .*recorder`));
    await expect.poll(() => recorder.recording.delivered.filter((delivered) => delivered === id).length, { timeout: 5000 }).toBe(2);
    expect(errors).toEqual([]);
    await page.close();
  });

  it("renders event fields as text, never as markup", async () => {
    const page = await browser.newPage();
    await page.goto(`${t.url}/`);
    await page.evaluate((token) => sessionStorage.setItem("gitlab-webhooks-admin-token", token), ADMIN);
    await page.reload();
    await page.locator("#live.on").waitFor();
    const hostile = { object_kind: "push", project: { id: 9, path_with_namespace: '<img src=x onerror="window.pwned=1">', visibility_level: 20 } };
    const { id } = (await (await postHook(t.url, hostile)).json()) as { id: number };
    const row = page.locator(`#events tr[data-id="${id}"]`);
    await row.waitFor();
    expect(await row.textContent()).toContain("<img src=x");
    expect(await row.locator("img").count()).toBe(0);
    expect(await page.evaluate(() => (window as unknown as { pwned?: number }).pwned)).toBeUndefined();
    await page.close();
  });
});
