import { errorMessage } from "./error-message.js";

/** Why fetch() failed, as a person can act on it: `ECONNREFUSED 127.0.0.1:8080`, `ENOTFOUND gitlab.example`. */
export function networkCause(error: unknown): string {
  const cause = (error as { cause?: { code?: unknown; message?: unknown; address?: unknown; port?: unknown; hostname?: unknown } }).cause;
  if (cause && typeof cause.code === "string") {
    const where =
      typeof cause.address === "string"
        ? `${cause.address}${typeof cause.port === "number" ? `:${cause.port}` : ""}`
        : typeof cause.hostname === "string"
          ? cause.hostname
          : "";
    return where ? `${cause.code} ${where}` : cause.code;
  }
  if (cause && typeof cause.message === "string") return cause.message;
  return errorMessage(error);
}
