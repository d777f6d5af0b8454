export type MergeRequestAction = "open" | "reopen" | "merge" | "close" | "update";

const VERBS: Record<MergeRequestAction, string> = {
  open: "opened",
  reopen: "reopened",
  merge: "merged",
  close: "closed",
  update: "added a reference in",
};

interface CommentInput {
  actor: string | null;
  action: MergeRequestAction;
  url: string;
  projectPath: string;
  targetBranch: string;
  title: string;
}

/**
 * Text for inside a `%%%…%%%` literal: nothing in it is rendered as Remarkup, so only a closing
 * `%%%` could break out. A zero-width space between percent signs keeps any run of them from
 * closing the literal; line breaks and control characters become spaces.
 */
export function literalText(text: string): string {
  return (
    text
      // eslint-disable-next-line no-control-regex -- control characters are exactly what is removed
      .replace(/[\u0000-\u001f\u007f\u2028\u2029]+/g, " ")
      .trim()
      .replace(/%(?=%)/g, "%\u200b")
      // A trailing % would join the closing %%%.
      .replace(/%$/, "%\u200b")
  );
}

/** A GitLab username as plain text: nothing that Remarkup could read as a mention or markup. */
function actorName(actor: string | null): string {
  const cleaned = (actor ?? "").replace(/[^A-Za-z0-9_.-]/g, "");
  return cleaned === "" ? "Someone" : cleaned;
}

/**
 * The comment, whose first line tools parse (`<actor> merged <url>`):
 *
 *     agarcia opened https://gitlab.example.com/group/project/-/merge_requests/16
 *
 *     %%%[group/project@main] Add input validation%%%
 */
export function commentText(input: CommentInput): string {
  const first = `${actorName(input.actor)} ${VERBS[input.action]} ${input.url}`;
  const second = `%%%${literalText(`[${input.projectPath}@${input.targetBranch}] ${input.title}`)}%%%`;
  return `${first}\n\n${second}`;
}
