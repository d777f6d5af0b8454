import { describe, expect, it } from "vitest";
import { startTestDaemon, waitFor, type TestDaemon } from "../helpers/daemon.js";
import { startFakeGitLab, type FakeGitLab } from "../helpers/fake-gitlab.js";
import { sendJson } from "../helpers/fake-server.js";
import { closeAfterTest } from "../helpers/teardown.js";

const GITLAB_TOKEN = "glpat-hooks-watcher";
const ADMIN = "watch-admin-token-0123";
const PROJECT = "flightjs/flight-management";

let t: TestDaemon | undefined;
let gitlab: FakeGitLab | undefined;

interface Health {
  status: string;
  hooks?: Record<string, unknown>;
}

async function world() {
  gitlab = closeAfterTest(await startFakeGitLab(GITLAB_TOKEN));
  const hook = {
    id: 8,
    url: "https://hooks.example.org/hooks",
    merge_requests_events: true,
    alert_status: "temporarily_disabled",
    disabled_until: "2026-11-22T12:00:00Z",
  };
  const statuses = ["internal error", "internal error", "500", "internal error"];
  gitlab.route(`GET /api/v4/projects/${encodeURIComponent(PROJECT)}`, (_req, _body, res) =>
    sendJson(res, 200, { id: 3, path_with_namespace: PROJECT }),
  );
  gitlab.route("GET /api/v4/projects/releng", (_req, _body, res) => sendJson(res, 404, { message: "404 Project Not Found" }));
  gitlab.route("GET /api/v4/groups/releng", (_req, _body, res) => sendJson(res, 200, { id: 5, full_path: "releng" }));
  gitlab.route(`GET /api/v4/projects/${encodeURIComponent(PROJECT)}/hooks`, (_req, _body, res) => sendJson(res, 200, [hook]));
  gitlab.route(`GET /api/v4/projects/${encodeURIComponent(PROJECT)}/hooks/8/events`, (_req, _body, res) =>
    sendJson(
      res,
      200,
      statuses.map((status, n) => ({
        id: 100 - n,
        trigger: "merge_request_hooks",
        request_headers: {},
        request_data: {},
        response_status: status,
      })),
    ),
  );
  gitlab.route("GET /api/v4/groups/releng/hooks", (_req, _body, res) =>
    sendJson(res, 200, [{ id: 2, url: "https://hooks.example.org/hooks", push_events: true, alert_status: "executable" }]),
  );
  gitlab.route("GET /api/v4/groups/releng/hooks/2/events", (_req, _body, res) => sendJson(res, 200, [{ id: 1, response_status: "200" }]));
  return { hook, statuses };
}

describe("HOOKS_WATCH", () => {
  it("logs a disabled hook as an error naming how to re-enable it, and shows it on /healthz, /api/hooks and /metrics", async () => {
    const { hook, statuses } = await world();
    t = closeAfterTest(
      await startTestDaemon({ HOOKS_WATCH: `${PROJECT},releng`, GITLAB_URL: gitlab!.url, GITLAB_TOKEN, ADMIN_TOKEN: ADMIN }),
    );
    await waitFor(() => (t!.daemon.hooksWatch?.state.checkedAt ? true : undefined));
    expect(t.logs()).toMatch(
      /error GitLab paused project hook of flightjs\/flight-management 8 \(https:\/\/hooks.example.org\/hooks\) until 2026-11-22T12:00:00Z after 4 failures in a row: send it a test request to re-enable it .* gitlab-webhooks hooks recover --project flightjs\/flight-management --hook 8/,
    );

    const health = await fetch(`${t.url}/healthz`);
    expect(health.status).toBe(200);
    const body = (await health.json()) as Health;
    expect(body.status).toBe("degraded");
    expect(body.hooks).toMatchObject({ watched: 2, disabled: 1, failing: 0, uncheckable: 0 });
    // Public: no project path, no hook URL.
    expect(JSON.stringify(body)).not.toContain("flightjs");
    expect(JSON.stringify(body)).not.toContain("hooks.example.org");

    const detail = (await (await fetch(`${t.url}/api/hooks`, { headers: { Authorization: `Bearer ${ADMIN}` } })).json()) as {
      hooks: Record<string, unknown>[];
    };
    expect(detail.hooks).toEqual([
      expect.objectContaining({
        target: PROJECT,
        kind: "project",
        id: 8,
        state: "disabled",
        alertStatus: "temporarily_disabled",
        lastStatuses: statuses,
      }),
      expect.objectContaining({ target: "releng", kind: "group", id: 2, state: "ok", reason: null, lastStatuses: ["200"] }),
    ]);
    const metrics = await (await fetch(`${t.url}/metrics`)).text();
    expect(metrics).toContain(`gitlab_webhooks_hook_enabled{target="${PROJECT}",hook="8"} 0`);
    expect(metrics).toContain('gitlab_webhooks_hook_enabled{target="releng",hook="2"} 1');
    expect(metrics).toContain(`gitlab_webhooks_hook_last_delivery_ok{target="${PROJECT}",hook="8"} 0`);

    // Re-enabled in GitLab: the next check says so, once.
    hook.alert_status = "executable";
    statuses.unshift("200");
    await t.daemon.hooksWatch!.check();
    expect(t.logs()).toMatch(/info project hook 8 of flightjs\/flight-management \(https:\/\/hooks.example.org\/hooks\) is called again/);
    expect(((await (await fetch(`${t.url}/healthz`)).json()) as Health).status).toBe("ok");
    await t.daemon.hooksWatch!.check();
    expect(t.logs().match(/is called again/g)).toHaveLength(1);
  });

  it("says which entry it cannot check, and why, without failing the daemon", async () => {
    await world();
    t = closeAfterTest(await startTestDaemon({ HOOKS_WATCH: "nobody/nothing", GITLAB_URL: gitlab!.url, GITLAB_TOKEN }));
    await waitFor(() => (t!.daemon.hooksWatch?.state.checkedAt ? true : undefined));
    expect(t.logs()).toMatch(
      /error could not check the hooks of nobody\/nothing: HOOKS_WATCH: nobody\/nothing is neither a project nor a group that GITLAB_TOKEN can see/,
    );
    expect(((await (await fetch(`${t.url}/healthz`)).json()) as Health).hooks).toMatchObject({ uncheckable: 1 });
  });

  it("needs GITLAB_TOKEN, and says so", async () => {
    await expect(startTestDaemon({ HOOKS_WATCH: PROJECT })).rejects.toThrow(/^HOOKS_WATCH needs GITLAB_TOKEN/);
  });
});
