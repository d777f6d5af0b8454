import { throwIfDeliveryStopped, withDeliverySignal } from "../../core/delivery-claim.js";
import { retryAfter } from "../../core/failure.js";
import { networkCause } from "../../support/network-cause.js";
import { encodeParams, type ConduitValue } from "./encode-params.js";

/** Conduit answered with an error envelope (it does so with HTTP 200). */
export class ConduitError extends Error {
  override name = "ConduitError";
  constructor(
    readonly code: string,
    readonly info: string,
    readonly method: string,
  ) {
    super(`${method}: ${code}: ${info}`);
  }

  get isInvalidAuth(): boolean {
    return this.code === "ERR-INVALID-AUTH";
  }

  /** maniphest.edit on a task id that does not exist. */
  get isNoSuchObject(): boolean {
    return /No object exists with ID/i.test(this.info);
  }
}

/** The request did not get a Conduit answer: network failure, timeout, or an HTTP error status. */
export class ConduitTransportError extends Error {
  override name = "ConduitTransportError";
  constructor(
    message: string,
    readonly method: string,
    /** True when the request may have reached Phabricator and taken effect (timeout, dropped answer, 5xx). */
    readonly mayHaveApplied: boolean,
    readonly status: number | null = null,
    /** Phabricator's Retry-After (epoch ms), honoured by the delivery queue. */
    readonly retryAt: number | null = null,
  ) {
    super(`${method}: ${message}`);
  }
}

interface Envelope<T> {
  result: T;
  error_code: string | null;
  error_info: string | null;
}

interface ConduitClientOptions {
  url: string;
  token: string;
  timeoutMs?: number;
}

interface WhoAmI {
  phid: string;
  userName: string;
  realName?: string;
}

/** A small typed Conduit client: `POST <url>/api/<method>`, form-encoded, token as api.token. */
export class ConduitClient {
  private readonly base: string;

  constructor(private readonly options: ConduitClientOptions) {
    this.base = options.url.replace(/\/+$/, "").replace(/\/api$/, "");
  }

  async call<T>(method: string, params: Record<string, ConduitValue> = {}): Promise<T> {
    const body = encodeParams({ ...params, "api.token": this.options.token });
    let response: Response;
    try {
      response = await fetch(`${this.base}/api/${method}`, {
        method: "POST",
        headers: { "Content-Type": "application/x-www-form-urlencoded", Accept: "application/json" },
        body,
        // The delivery's own signal too: a delivery whose claim is lost stops waiting for Phabricator.
        signal: withDeliverySignal(AbortSignal.timeout(this.options.timeoutMs ?? 15_000)),
      });
    } catch (error) {
      throwIfDeliveryStopped();
      const timedOut = (error as Error).name === "TimeoutError";
      const cause = networkCause(error);
      // A refused connection never reached Phabricator; anything else might have.
      const mayHaveApplied = timedOut || !cause.startsWith("ECONNREFUSED");
      const why = timedOut ? `no answer within ${this.options.timeoutMs ?? 15_000} ms` : `could not be reached (${cause})`;
      throw new ConduitTransportError(`Phabricator at ${this.base} ${why}`, method, mayHaveApplied);
    }
    const text = await response.text().catch(() => "");
    if (!response.ok) {
      const retryAt = retryAfter(response.headers.get("retry-after"));
      throw new ConduitTransportError(
        `Phabricator at ${this.base} answered HTTP ${response.status}`,
        method,
        response.status >= 500,
        response.status,
        retryAt,
      );
    }
    let envelope: Envelope<T>;
    try {
      envelope = JSON.parse(text) as Envelope<T>;
    } catch {
      throw new ConduitTransportError(
        "the answer is not JSON (is PHABRICATOR_URL the Phabricator base URL?)",
        method,
        true,
        response.status,
      );
    }
    if (envelope.error_code) {
      // Phabricator quotes a malformed token back in error_info; it must not reach a log line.
      const info = (envelope.error_info ?? "").split(this.options.token).join("[redacted]");
      throw new ConduitError(envelope.error_code, info, method);
    }
    return envelope.result;
  }

  whoami(): Promise<WhoAmI> {
    return this.call<WhoAmI>("user.whoami");
  }
}
