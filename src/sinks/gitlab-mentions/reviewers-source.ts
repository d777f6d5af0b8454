import { readFile } from "node:fs/promises";
import type { Logger } from "winston";
import { VERSION } from "../../support/version.js";
import { parseReviewersPage, type ParsedReviewersPage } from "./reviewers-page.js";
import { errorMessage } from "../../support/error-message.js";

const DEFAULT_REVIEWERS_API =
  "https://www.mediawiki.org/w/api.php?action=parse&page=Git/Reviewers&prop=wikitext&format=json&formatversion=2";
const DEFAULT_REVIEWERS_PAGE = "https://www.mediawiki.org/wiki/Git/Reviewers";

interface ReviewersSourceOptions {
  file?: string;
  url?: string;
  ttlMs: number;
  timeoutMs: number;
  logger: Logger;
}

/** The wikitext of an answer: the parse API's JSON (formatversion 1 or 2), or the raw page. */
function wikitextOf(body: string, contentType: string): string {
  if (!/json/i.test(contentType)) return body;
  const parsed = JSON.parse(body) as { parse?: { wikitext?: string | { "*"?: string } }; error?: { info?: string } };
  if (parsed.error) throw new Error(`the MediaWiki API answered: ${parsed.error.info ?? "error"}`);
  const wikitext = parsed.parse?.wikitext;
  const text = typeof wikitext === "string" ? wikitext : wikitext?.["*"];
  if (typeof text !== "string") throw new Error("the MediaWiki API answer has no parse.wikitext");
  return text;
}

/**
 * The reviewers page, cached for the TTL. A failed refresh keeps the last good copy (with a
 * warning); only with no copy at all does reading it fail, and the delivery is retried.
 */
export class ReviewersSource {
  private page: ParsedReviewersPage | null = null;
  private fetchedAt = 0;
  private refreshing: Promise<ParsedReviewersPage> | null = null;

  constructor(private readonly options: ReviewersSourceOptions) {}

  /** Where people edit the page, for the link in mention notes. */
  get pageLink(): string | null {
    if (this.options.file) return null;
    return this.options.url ?? DEFAULT_REVIEWERS_PAGE;
  }

  get describe(): string {
    return this.options.file ? `file ${this.options.file}` : (this.options.url ?? DEFAULT_REVIEWERS_API);
  }

  async get(now = Date.now()): Promise<ParsedReviewersPage> {
    if (this.page && now - this.fetchedAt < this.options.ttlMs) return this.page;
    this.refreshing ??= this.refresh().finally(() => (this.refreshing = null));
    return this.refreshing;
  }

  private async refresh(): Promise<ParsedReviewersPage> {
    try {
      const page = parseReviewersPage(await this.load());
      for (const warning of page.warnings) this.options.logger.warn(`reviewers page: ${warning}`);
      this.page = page;
      this.fetchedAt = Date.now();
      return page;
    } catch (error) {
      const reason = errorMessage(error);
      if (!this.page) throw new Error(`could not read the reviewers page (${this.describe}): ${reason}`);
      this.options.logger.warn(`could not refresh the reviewers page (${this.describe}); keeping the last good copy`, { error: reason });
      // Try again after a short while rather than on every event.
      this.fetchedAt = Date.now() - this.options.ttlMs + Math.min(this.options.ttlMs, 60_000);
      return this.page;
    }
  }

  private async load(): Promise<string> {
    if (this.options.file) return readFile(this.options.file, "utf8");
    const response = await fetch(this.options.url ?? DEFAULT_REVIEWERS_API, {
      headers: { "User-Agent": `gitlab-webhooks/${VERSION} (reviewers page reader)`, Accept: "application/json, text/plain" },
      signal: AbortSignal.timeout(this.options.timeoutMs),
    });
    const body = await response.text();
    if (!response.ok) throw new Error(`HTTP ${response.status}`);
    return wikitextOf(body, response.headers.get("content-type") ?? "");
  }
}
