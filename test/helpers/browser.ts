import { mkdirSync } from "node:fs";
import { join } from "node:path";
import sparticuz from "@sparticuz/chromium";
import { chromium, type Browser, type Page } from "playwright-core";
import { onTestFailed } from "vitest";

/** Where the dashboard's tests leave screenshots of what the browser showed. */
export const SCREENSHOTS = join(process.cwd(), "test-results", "dashboard");

/** Flags that keep Chromium off the network it would otherwise try at start (this machine has none). */
const QUIET = ["--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"];

/**
 * Flags made for AWS Lambda that get in the way here: one process dies with its last page, and
 * the dashboard's security headers are under test.
 */
const DROPPED = ["--single-process", "--disable-web-security"];

/**
 * A headless Chromium: CHROMIUM_PATH when set, else the one @sparticuz/chromium ships inside its
 * npm package (no system browser, no download).
 */
export async function launchBrowser(): Promise<Browser> {
  const override = process.env.CHROMIUM_PATH;
  const executablePath = override ?? (await sparticuz.executablePath());
  const args = override ? ["--no-sandbox", "--disable-gpu"] : sparticuz.args.filter((arg) => !DROPPED.includes(arg));
  return chromium.launch({ executablePath, args: [...args, ...QUIET] });
}

/**
 * A page that collects script errors and Content-Security-Policy violations, and leaves a
 * screenshot `<name>.png` in SCREENSHOTS if the test fails.
 */
export async function watchedPage(
  browser: Browser,
  name: string,
  viewport = { width: 1280, height: 900 },
): Promise<{ page: Page; errors: string[] }> {
  const page = await browser.newPage({ viewport });
  const errors: string[] = [];
  page.on("pageerror", (error) => errors.push(error.message));
  page.on("console", (message) => {
    if (/Content Security Policy/i.test(message.text())) errors.push(message.text());
  });
  onTestFailed(async () => {
    mkdirSync(SCREENSHOTS, { recursive: true });
    await page.screenshot({ path: join(SCREENSHOTS, `${name}.png`), fullPage: true }).catch(() => {});
  });
  return { page, errors };
}
