import sparticuz from "@sparticuz/chromium";
import { chromium, type Browser } from "playwright-core";

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
