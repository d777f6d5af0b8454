import { readFileSync } from "node:fs";
import { z } from "zod";
import { ConfigError } from "../../config/settings.js";

const whsec = z.string().regex(/^whsec_[A-Za-z0-9+/]+={0,2}$/, { message: "accepts a whsec_<base64> secret" });
const names = z.array(z.string().trim().min(1, { message: "has an empty name in its list" }));

/**
 * One entry of HTTP_SINK_FILE: where to push, the Standard Webhooks secret(s) to sign with (several
 * while rotating: each signs, so the receiver may hold either), and the feed's filters.
 */
const endpointSchema = z
  .object({
    name: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/, { message: "accepts letters, digits, '.', '_' and '-' (at most 63)" }),
    url: z.url({ message: "accepts an http(s) URL", protocol: /^https?$/ }),
    secret: z.union([whsec.transform((secret) => [secret]), z.array(whsec).min(1, { message: "needs at least one secret" })], {
      message: "accepts a whsec_<base64> secret or a list of them",
    }),
    types: names.optional(),
    actions: names.optional(),
    projects: names.optional(),
    hooks: z.array(z.enum(["system", "project", "group", "unknown"], { message: "accepts system, project, group or unknown" })).optional(),
    body: z
      .enum(["gitlab", "event"], { message: 'accepts "gitlab" (the request as GitLab sent it) or "event" (the normalized event)' })
      .default("gitlab"),
  })
  .strict();

export type Endpoint = z.infer<typeof endpointSchema>;

/** The endpoints of HTTP_SINK_FILE; a ConfigError in one line naming the entry and what is wrong. */
export function readEndpoints(path: string): Endpoint[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(path, "utf8"));
  } catch (error) {
    throw new ConfigError(`HTTP_SINK_FILE ${path} is not a readable JSON file: ${(error as Error).message.split("\n")[0]}`);
  }
  if (!Array.isArray(parsed) || parsed.length === 0) {
    throw new ConfigError(`HTTP_SINK_FILE ${path} must hold a JSON array of endpoints ({"name", "url", "secret", …}), at least one`);
  }
  const endpoints: Endpoint[] = [];
  parsed.forEach((entry: unknown, index) => {
    const name =
      typeof entry === "object" && entry !== null && typeof (entry as { name?: unknown }).name === "string"
        ? ` ("${(entry as { name: string }).name.slice(0, 63)}")`
        : "";
    const which = `HTTP_SINK_FILE: entry ${index + 1}${name}`;
    const result = endpointSchema.safeParse(entry);
    if (!result.success) {
      const issue = result.error.issues[0];
      const field = issue?.path.join(".") ?? "";
      // A secret's value never reaches the message: zod's messages here name what is accepted, not what was given.
      const missing = issue?.code === "invalid_type" && issue.message.endsWith("received undefined");
      const what =
        issue?.code === "unrecognized_keys"
          ? `has unknown field(s) ${issue.keys.join(", ")}`
          : `${field || "the entry"} ${missing ? "is missing" : (issue?.message ?? "is invalid")}`;
      throw new ConfigError(`${which} ${what}`);
    }
    if (endpoints.some((other) => other.name === result.data.name)) throw new ConfigError(`${which}: another entry has the same name`);
    endpoints.push(result.data);
  });
  return endpoints;
}
