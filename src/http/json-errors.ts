import type { ServerResponse } from "node:http";
import type { NextFunction, Request, Response } from "express";
import type { Logger } from "winston";
import { errorMessage } from "../support/error-message.js";

/** Answers with a JSON body; works on a plain node:http response and on Express's alike. */
export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { ...headers, "Content-Type": "application/json; charset=utf-8", "Content-Length": Buffer.byteLength(text) });
  res.end(text);
}

/** Every error the daemon answers is JSON: {"error": "<what is wrong and what to do>"}. */
export function sendError(res: ServerResponse, status: number, error: string, headers: Record<string, string> = {}): void {
  sendJson(res, status, { error }, headers);
}

interface BodyParserError {
  status?: number;
  type?: string;
}

/** Last error handler: client errors keep their status, anything else is a logged 500 without details. */
export function jsonErrorHandler(logger: Logger) {
  return (error: unknown, req: Request, res: Response, next: NextFunction): void => {
    if (res.headersSent) return next(error);
    const status = (error as BodyParserError | undefined)?.status;
    if (typeof status === "number" && status >= 400 && status < 500) {
      const message =
        (error as BodyParserError).type === "entity.parse.failed"
          ? `body is not valid JSON: ${(error as Error).message}`
          : (error as Error).message;
      return sendError(res, status, message);
    }
    logger.error("request failed", { method: req.method, path: req.path, error: errorMessage(error) });
    sendError(res, 500, "internal error; see the daemon's log");
  };
}
