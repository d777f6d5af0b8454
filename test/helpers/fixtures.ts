import { readdirSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

export const FIXTURE_DIR = fileURLToPath(new URL("../fixtures/gitlab/", import.meta.url));

/** Fixture names, `<hook>__<event>.json` as GitLab's documentation gives the bodies. */
export const FIXTURES = readdirSync(FIXTURE_DIR)
  .filter((name) => name.endsWith(".json"))
  .sort();

export function fixtureBody(name: string): Buffer {
  return readFileSync(`${FIXTURE_DIR}${name}`);
}

export function fixtureJson<T = Record<string, unknown>>(name: string): T {
  return JSON.parse(fixtureBody(name).toString("utf8")) as T;
}

const PROJECT_HEADERS: Record<string, string> = {
  push: "Push Hook",
  tag_push: "Tag Push Hook",
  issue: "Issue Hook",
  note: "Note Hook",
  merge: "Merge Request Hook",
  pipeline: "Pipeline Hook",
  vulnerability: "Vulnerability Hook",
};

/** The X-Gitlab-Event GitLab sends with a fixture, from its `<hook>__` prefix and event name. */
export function eventHeaderFor(name: string): string {
  const [hook, event = ""] = name.replace(/\.json$/, "").split("__");
  if (hook === "system") return "System Hook";
  if (hook === "group") return "Project Hook";
  const key = Object.keys(PROJECT_HEADERS).find((prefix) => event.startsWith(prefix));
  return key ? (PROJECT_HEADERS[key] as string) : "Push Hook";
}
