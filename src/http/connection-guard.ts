import { readFileSync } from "node:fs";
import type { Server } from "node:http";
import type { Socket } from "node:net";
import type { Logger } from "winston";
import { rateLimitedLog } from "../support/rate-limited-log.js";

/** File descriptors kept free of connections: the store's files, the log, outgoing requests. */
const SPARE_DESCRIPTORS = 64;

/** The default connection cap: what the process's open-file limit leaves after the spare ones (at most 10,000). */
export function defaultMaxConnections(limits = "/proc/self/limits"): number {
  try {
    const soft = /^Max open files\s+(\d+)/m.exec(readFileSync(limits, "utf8"))?.[1];
    if (soft !== undefined) return Math.max(16, Math.min(10_000, Number(soft) - SPARE_DESCRIPTORS));
  } catch {
    // Not Linux: the fixed default below.
  }
  return 1000;
}

/** How often connections waiting for their request are looked at. */
const SWEEP_MS = 500;

/**
 * Caps the open connections, keeping room for real traffic: when the cap is reached, the
 * connection that has waited longest without a request in progress (a slow client trickling its
 * headers, an idle keep-alive) is closed to make room for the new one. A connection whose request
 * has not begun within `requestTimeoutMs` is closed too, however it trickles bytes. A feed
 * subscriber, or a request being answered, is never the one closed.
 */
export function guardConnections(server: Server, maxConnections: number, requestTimeoutMs: number, logger: Logger): void {
  const open = new Set<Socket>();
  /** Sockets with no request in progress, oldest first, and since when they wait. */
  const waiting = new Map<Socket, number>();
  const sweep = setInterval(() => {
    const deadline = Date.now() - requestTimeoutMs;
    for (const [socket, since] of waiting) {
      if (since > deadline) break;
      socket.destroy();
      waiting.delete(socket);
    }
  }, SWEEP_MS);
  sweep.unref();
  server.once("close", () => clearInterval(sweep));
  const full = rateLimitedLog(logger, "warn");
  server.on("connection", (socket: Socket) => {
    if (open.size >= maxConnections) {
      const oldest = waiting.keys().next().value as Socket | undefined;
      if (oldest === undefined) {
        full(`${maxConnections} connections are open (MAX_CONNECTIONS), all busy: refusing new ones`);
        socket.destroy();
        return;
      }
      full(`${maxConnections} connections are open (MAX_CONNECTIONS): closing the longest idle ones to make room`);
      oldest.destroy();
      open.delete(oldest);
      waiting.delete(oldest);
    }
    open.add(socket);
    waiting.set(socket, Date.now());
    socket.once("close", () => {
      open.delete(socket);
      waiting.delete(socket);
    });
  });
  server.on("request", (req, res) => {
    const socket = req.socket;
    waiting.delete(socket);
    res.once("finish", () => {
      if (!socket.destroyed) waiting.set(socket, Date.now());
    });
  });
}
