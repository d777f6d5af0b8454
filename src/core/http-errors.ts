import type { NextFunction, Request, Response } from "express";
import type { Logger } from "winston";

/** Every error the daemon answers is JSON: {"error": "<what is wrong and what to do>"}. */
export function sendError(res: Response, status: number, error: string, headers: Record<string, string> = {}): void {
  res.status(status).set(headers).json({ error });
}

interface BodyParserError {
  status?: number;
  type?: string;
  limit?: number;
}

/** What body-parser's error types mean for whoever sent the request. */
function describe(error: BodyParserError): { status: number; message: string } | null {
  switch (error.type) {
    case "entity.too.large":
      return { status: 413, message: `body is larger than MAX_BODY_BYTES (${error.limit ?? "?"} bytes)` };
    case "request.aborted":
      return { status: 400, message: "the request was aborted before its body was complete" };
    case "request.size.invalid":
      return { status: 400, message: "the body is shorter or longer than its Content-Length" };
    case "encoding.unsupported":
      return { status: 415, message: "Content-Encoding is not supported; send the body uncompressed" };
    case "charset.unsupported":
      return { status: 415, message: "the charset is not supported; send UTF-8 JSON" };
    default:
      return null;
  }
}

/** Last error handler: client errors keep their status, anything else is a logged 500 without details. */
export function jsonErrorHandler(logger: Logger) {
  return (error: unknown, req: Request, res: Response, next: NextFunction): void => {
    if (res.headersSent) return next(error);
    const known = describe((error ?? {}) as BodyParserError);
    if (known) return sendError(res, known.status, known.message);
    const status = (error as BodyParserError | undefined)?.status;
    if (typeof status === "number" && status >= 400 && status < 500) {
      return sendError(res, status, error instanceof Error ? error.message : "bad request");
    }
    logger.error("request failed", { method: req.method, path: req.path, error: String(error) });
    sendError(res, 500, "internal error; see the daemon's log");
  };
}
