import type { NextFunction, Request, Response } from "express";
import { sendError } from "./json-errors.js";
import { bearerToken, matchesAnySecret } from "../support/secrets.js";

/** `Authorization: Bearer <ADMIN_TOKEN>` for the read and admin API; off (403) while ADMIN_TOKEN is unset. */
export function requireAdminToken(tokens: readonly string[]) {
  return (req: Request, res: Response, next: NextFunction): void => {
    if (tokens.length === 0) {
      return sendError(res, 403, "the admin API is off: set ADMIN_TOKEN (comma-separated for rotation) and restart");
    }
    const token = bearerToken(req.headers.authorization);
    if (token === undefined) {
      return sendError(res, 401, "send Authorization: Bearer <ADMIN_TOKEN>", { "WWW-Authenticate": 'Bearer realm="gitlab-webhooks"' });
    }
    if (!matchesAnySecret(token, tokens)) {
      return sendError(res, 401, "the bearer token is not one of ADMIN_TOKEN", {
        "WWW-Authenticate": 'Bearer realm="gitlab-webhooks", error="invalid_token"',
      });
    }
    next();
  };
}
