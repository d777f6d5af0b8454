// A sink of your own: announces merged merge requests of public projects in a chat channel,
// through an incoming webhook (Mattermost, Slack, Rocket.Chat: {"text": …}).
//   CHAT_WEBHOOK_URL=https://chat.example.org/hooks/xyz SINKS_ENABLED=sse,./examples/merge-announcer.mjs
import { isMergeRequest, mergeRequestOf, mergeRequestOrderingKey, PermanentError, retryAfter, RetryLaterError } from "gitlab-webhooks";

/** @type {import("gitlab-webhooks").SinkFactory} */
export default function createMergeAnnouncer({ logger }) {
  const url = process.env.CHAT_WEBHOOK_URL;
  if (!url) throw new Error("CHAT_WEBHOOK_URL is required by merge-announcer");
  logger.info("merge-announcer: announcing merges of public projects");

  return {
    name: "merge-announcer",
    // Runs at ingest, inside the transaction that stores the event: cheap, no I/O.
    accepts: (event) => isMergeRequest(event) && event.action === "merge" && event.project?.visibility === "public",
    // One merge request's events in order; different merge requests side by side.
    orderingKey: mergeRequestOrderingKey,
    async handle(event, { signal }) {
      const mr = mergeRequestOf(event);
      if (!mr) return;
      const text = `${event.project?.path}!${mr.iid} merged by @${event.actor?.username ?? "someone"}: ${mr.title} ${mr.url ?? ""}`.trim();
      const response = await fetch(url, {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ text }),
        signal,
      });
      if (response.ok) return;
      const said = `the chat answered ${response.status}`;
      // Come back when the chat says so; a link that no longer exists will not come back; anything
      // else is retried with backoff, its status kept for the API and the dashboard.
      if (response.status === 429 || response.status === 503)
        throw new RetryLaterError(said, retryAfter(response.headers.get("retry-after")) ?? Date.now() + 60_000, {
          status: response.status,
        });
      if (response.status === 404 || response.status === 410) throw new PermanentError(`${said}: is CHAT_WEBHOOK_URL still right?`);
      throw Object.assign(new Error(said), { status: response.status });
    },
  };
}
