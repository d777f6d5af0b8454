import { readFileSync } from "node:fs";
import { request } from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestDaemon, type TestDaemon } from "../helpers/daemon.js";

let t: TestDaemon;
beforeAll(async () => {
  t = await startTestDaemon({ ADMIN_TOKEN: "assets-admin-token-3" });
});
afterAll(async () => {
  await t?.close();
});

/** The modules a script names in its static `import … from "…"` and `import "…"` statements. */
function importsOf(source: string): string[] {
  return [...source.matchAll(/^\s*import\s+(?:[^"']*?\s+from\s+)?["']([^"']+)["']/gm)].map((match) => match[1]!);
}

/** A GET with the path sent exactly as written: fetch() would resolve the `..` before sending. */
function getRaw(path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const { hostname, port } = new URL(t.url);
    request({ hostname, port, path, agent: false }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (chunk: string) => (body += chunk));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
    })
      .on("error", reject)
      .end();
  });
}

describe("dashboard assets", () => {
  it("serves every module the page loads as JavaScript from this daemon, under the page's CSP, revalidated each time", async () => {
    const page = await fetch(`${t.url}/`);
    const html = await page.text();
    const entry = /<script type="module" src="([^"]+)"><\/script>/.exec(html)?.[1];
    expect(entry).toBeDefined();
    const csp = page.headers.get("content-security-policy") ?? "";
    expect(csp).toMatch(/script-src 'self'/);

    // The whole module graph, followed from the page's one script.
    const pending = [new URL(entry!, t.url)];
    const served = new Set<string>();
    while (pending.length > 0) {
      const url = pending.pop()!;
      if (served.has(url.href)) continue;
      served.add(url.href);
      expect(url.origin, `${url.pathname} comes from this daemon ('self')`).toBe(new URL(t.url).origin);
      const response = await fetch(url);
      expect(response.status, url.pathname).toBe(200);
      expect(response.headers.get("content-type"), url.pathname).toMatch(/^text\/javascript/);
      expect(response.headers.get("content-security-policy"), url.pathname).toBe(csp);
      expect(response.headers.get("x-content-type-options"), url.pathname).toBe("nosniff");
      // Revalidated on every load, so that an upgraded daemon's page never runs with a stale module.
      expect(response.headers.get("cache-control"), url.pathname).toMatch(/no-cache|max-age=0/);
      pending.push(...importsOf(await response.text()).map((name) => new URL(name, url)));
    }
    expect(served.size).toBeGreaterThan(1);
  });

  it("serves nothing from outside public/, and lists no folder", async () => {
    const packageJson = readFileSync("package.json", "utf8");
    for (const path of [
      "/assets/../package.json",
      "/assets/%2e%2e/package.json",
      "/assets/..%2fpackage.json",
      "/assets/dashboard/../../package.json",
      "/assets/%2e%2e/src/daemon.ts",
      "/assets/dashboard/",
      "/assets/",
    ]) {
      const { status, body } = await getRaw(path);
      expect(status, path).toBeGreaterThanOrEqual(400);
      expect(body, path).not.toContain(packageJson.slice(0, 40));
      expect(body, path).not.toContain("startDaemon");
    }
  });
});
