import type { IncomingMessage } from "node:http";
import { readHeader } from "./read-header.js";

type BodyResult = { body: Buffer } | { status: number; error: string };

/**
 * The whole request body, refused early when its Content-Length (or what arrives) passes
 * MAX_BODY_BYTES, and refused when it is compressed (GitLab sends plain JSON).
 */
export function readBody(req: IncomingMessage, maxBytes: number, timeoutMs: number): Promise<BodyResult> {
  const tooLarge = { status: 413, error: `body is larger than MAX_BODY_BYTES (${maxBytes} bytes)` };
  const encoding = (readHeader(req.headers, "content-encoding") ?? "identity").toLowerCase();
  if (encoding !== "identity") {
    req.resume();
    return Promise.resolve({ status: 415, error: "Content-Encoding is not supported; send the body uncompressed" });
  }
  const declared = Number(readHeader(req.headers, "content-length"));
  if (Number.isFinite(declared) && declared > maxBytes) {
    req.resume();
    return Promise.resolve(tooLarge);
  }
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let done = false;
    // GitLab gives up after 10 s: a body trickling in for longer holds a connection for nothing.
    const late = setTimeout(() => finish({ status: 408, error: "the body did not arrive within REQUEST_TIMEOUT_MS" }), timeoutMs);
    const finish = (result: BodyResult) => {
      if (done) return;
      done = true;
      clearTimeout(late);
      resolve(result);
    };
    req.on("data", (chunk: Buffer) => {
      if (done) return;
      size += chunk.length;
      if (size > maxBytes) {
        // Keep reading (and dropping) so that the answer can still be sent on this connection.
        chunks.length = 0;
        finish(tooLarge);
        return;
      }
      chunks.push(chunk);
    });
    req.on("end", () => finish({ body: chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks, size) }));
    req.on("aborted", () => finish({ status: 400, error: "the request was aborted before its body was complete" }));
    req.on("error", () => finish({ status: 400, error: "the request body could not be read" }));
  });
}
