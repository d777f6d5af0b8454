import { sendJson, startFakeServer, type FakeServer } from "./fake-server.js";

export type Params = Record<string, unknown>;

export interface ConduitCall {
  method: string;
  params: Params;
}

/** What a scripted failure makes the fake do for one call. */
export type Failure = "timeout" | "http500" | { error_code: string; error_info: string };

export interface FakeConduit extends FakeServer {
  calls: ConduitCall[];
  /** Comments posted per task, as Phabricator stores them. */
  comments: Map<string, string[]>;
  /** Calls matching `when` fail as told, `times` times. */
  failWhen(when: (call: ConduitCall) => boolean, failure: Failure, times?: number): void;
  /** Applies the next matching edit but never answers (a timeout after the fact). */
  applyThenHang(when: (call: ConduitCall) => boolean): void;
}

/** Reads PHP-style form fields (`transactions[0][type]=comment`) back into nested values. */
export function decodePhpForm(body: string): Params {
  const out: Params = {};
  for (const [name, value] of new URLSearchParams(body)) {
    const path = name.replace(/\]/g, "").split("[");
    let node: Params = out;
    path.forEach((key, index) => {
      if (index === path.length - 1) node[key] = value;
      else node = (node[key] ??= {}) as Params;
    });
  }
  return out;
}

/** Conduit on loopback: form-encoded POST /api/<method>, HTTP 200 with error_code envelopes. */
export async function startFakeConduit(options: {
  token: string;
  tasks: string[];
  projects?: Record<string, string>;
}): Promise<FakeConduit> {
  const calls: ConduitCall[] = [];
  const comments = new Map<string, string[]>(options.tasks.map((task) => [task, []]));
  const failures: { when: (call: ConduitCall) => boolean; failure: Failure | "apply-hang"; times: number }[] = [];

  const server = await startFakeServer((req, body, res) => {
    const method = (req.url ?? "").replace(/^\/api\//, "");
    const { "api.token": token, ...params } = decodePhpForm(body);
    const call = { method, params };
    calls.push(call);
    const envelope = (result: unknown) => sendJson(res, 200, { result, error_code: null, error_info: null });
    const error = (code: string, info: string) => sendJson(res, 200, { result: null, error_code: code, error_info: info });

    if (token !== options.token)
      return error("ERR-INVALID-AUTH", `API token "${String(token)}" has the wrong length. API tokens should be 32 characters long.`);
    const scripted = failures.find((f) => f.times > 0 && f.when(call));
    if (scripted) {
      scripted.times--;
      if (scripted.failure === "timeout") return; // never answers
      if (scripted.failure === "http500") {
        res.writeHead(500, { "Content-Type": "text/html" }).end("<h1>Unhandled Exception</h1>");
        return;
      }
      if (scripted.failure !== "apply-hang") return error(scripted.failure.error_code, scripted.failure.error_info);
    }
    switch (method) {
      case "user.whoami":
        return envelope({ phid: "PHID-USER-bot", userName: "gitlab-bot", realName: "GitLab Bot" });
      case "maniphest.edit": {
        const task = String(params.objectIdentifier);
        const list = comments.get(task);
        if (!list) return error("ERR-CONDUIT-CORE", `No object exists with ID "${task}".`);
        const transactions = Object.values((params.transactions ?? {}) as Record<string, { type: string; value: unknown }>);
        for (const xaction of transactions) if (xaction.type === "comment") list.push(String(xaction.value));
        if (scripted?.failure === "apply-hang") return; // applied, but the answer never comes
        return envelope({ object: { id: Number(task.slice(1)), phid: `PHID-TASK-${task}` }, transactions: [] });
      }
      case "transaction.search": {
        const list = comments.get(String(params.objectIdentifier)) ?? [];
        return envelope({ data: list.map((raw) => ({ type: "comment", comments: [{ content: { raw } }] })), cursor: { after: null } });
      }
      case "project.search": {
        const slug = String(((params.constraints as Params | undefined)?.slugs as Params | undefined)?.["0"] ?? "");
        const phid = options.projects?.[slug];
        return envelope({ data: phid ? [{ phid }] : [], cursor: { after: null } });
      }
      default:
        return error("ERR-CONDUIT-CALL", `Conduit method "${method}" does not exist.`);
    }
  });

  return {
    ...server,
    calls,
    comments,
    failWhen: (when, failure, times = 1) => failures.push({ when, failure, times }),
    applyThenHang: (when) => failures.push({ when, failure: "apply-hang", times: 1 }),
  };
}
