// The HTTP transport: node:http on 127.0.0.1, request log, latency, fault injection, prompt close.

import http from "node:http";
import type { Socket } from "node:net";

import type { ApiRequest } from "./api.js";
import { authKind } from "./auth.js";
import { FaultQueue } from "./faults.js";
import { maintenancePage, noApiHere, rateLimited, type SimResponse, serverError, text } from "./responses.js";
import type { Fault, RequestLogEntry } from "./types.js";

export type ApiHandler = (req: ApiRequest, origin: string) => SimResponse;

export class SimServer {
  readonly requests: RequestLogEntry[] = [];
  private readonly faults = new FaultQueue();
  private readonly server: http.Server;
  private readonly sockets = new Set<Socket>();
  private readonly timers = new Map<NodeJS.Timeout, () => void>();
  private closing: Promise<void> | undefined;
  private port = 0;

  constructor(
    private readonly api: ApiHandler,
    private readonly latencyMs: number,
  ) {
    this.server = http.createServer((req, res) => this.onRequest(req, res));
    this.server.on("connection", (socket: Socket) => {
      this.sockets.add(socket);
      socket.on("close", () => this.sockets.delete(socket));
    });
  }

  get origin(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  listen(port: number): Promise<void> {
    return new Promise((resolve, reject) => {
      this.server.once("error", reject);
      this.server.listen(port, "127.0.0.1", () => {
        this.server.off("error", reject);
        const address = this.server.address();
        if (address === null || typeof address === "string") {
          reject(new Error("simulator: unexpected listen address"));
          return;
        }
        this.port = address.port;
        resolve();
      });
    });
  }

  inject(fault: Fault): void {
    this.faults.add(fault);
  }

  clearFaults(): void {
    this.faults.clear();
  }

  /** Stops listening and destroys every connection (hung, delayed or idle keep-alive ones included). */
  close(): Promise<void> {
    if (this.closing) return this.closing;
    for (const [timer, wake] of this.timers) {
      clearTimeout(timer);
      wake();
    }
    this.timers.clear();
    this.closing = new Promise((resolve) => this.server.close(() => resolve()));
    this.server.closeAllConnections();
    for (const socket of this.sockets) socket.destroy();
    return this.closing;
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.timers.delete(timer);
        resolve();
      }, ms);
      this.timers.set(timer, resolve);
    });
  }

  private onRequest(req: http.IncomingMessage, res: http.ServerResponse): void {
    req.resume(); // GETs carry no body; drain anything so keep-alive keeps working
    const rawUrl = req.url ?? "/";
    const qAt = rawUrl.indexOf("?");
    const rawPath = qAt >= 0 ? rawUrl.slice(0, qAt) : rawUrl;
    const rawQuery = qAt >= 0 ? rawUrl.slice(qAt + 1) : "";
    const params = new URLSearchParams(rawQuery);
    const query: Record<string, string[]> = {};
    for (const [key, value] of params) (query[key] ??= []).push(value);
    const authorization = req.headers.authorization;
    const entry: RequestLogEntry = {
      method: req.method ?? "GET",
      path: rawPath,
      query,
      status: 0,
      auth: authKind(authorization),
      at: Date.now(),
    };
    this.requests.push(entry);
    const fault = this.faults.take(rawUrl);
    const apiRequest: ApiRequest = { method: entry.method, rawPath, rawQuery, params, authorization };
    this.respond(res, entry, apiRequest, rawUrl, fault).catch(() => res.destroy());
  }

  private async respond(
    res: http.ServerResponse,
    entry: RequestLogEntry,
    apiRequest: ApiRequest,
    rawUrl: string,
    fault: Fault | undefined,
  ): Promise<void> {
    if (fault?.kind === "hang") return; // never answered; close() destroys the socket
    const delay = this.latencyMs + (fault?.kind === "slow" ? (fault.delayMs ?? 0) : 0);
    if (delay > 0) await this.sleep(delay);
    if (this.closing || res.destroyed) return;

    switch (fault?.kind) {
      case "429":
        return this.send(res, entry, rateLimited(fault.retryAfter));
      case "500":
      case "502":
      case "503":
        return this.send(res, entry, serverError(Number(fault.kind) as 500 | 502 | 503));
      case "non-json":
        return this.send(res, entry, maintenancePage());
      case "no-api":
        return this.send(res, entry, noApiHere());
      case "redirect-offsite":
        return this.send(
          res,
          entry,
          text(302, "", "text/html; charset=utf-8", { location: `http://127.0.0.2:${this.port}${rawUrl}` }),
        );
      default:
        break;
    }

    const response = this.api(apiRequest, this.origin);
    if (fault?.nearLimit && entry.auth === "bearer") response.headers["x-ratelimit-nearlimit"] = "true";

    if (fault?.kind === "reset") {
      // Promise the full body, send about half of it, then drop the connection.
      const body = toBytes(response.body);
      res.writeHead(response.status, { ...response.headers, "content-length": String(body.length) });
      res.write(body.subarray(0, Math.floor(body.length / 2)), () => res.socket?.destroy());
      setTimeout(() => res.socket?.destroy(), 50).unref();
      return;
    }
    if (fault?.kind === "truncate") {
      const body = toBytes(response.body);
      return this.send(res, entry, {
        status: 200,
        headers: { ...response.headers, "content-type": "application/json; charset=utf-8" },
        body: body.subarray(0, Math.max(1, Math.floor(body.length / 2))),
      });
    }
    this.send(res, entry, response);
  }

  private send(res: http.ServerResponse, entry: RequestLogEntry, response: SimResponse): void {
    const body = toBytes(response.body);
    entry.status = response.status;
    res.writeHead(response.status, { ...response.headers, "content-length": String(body.length) });
    res.end(body);
  }
}

function toBytes(body: string | Buffer): Buffer {
  return typeof body === "string" ? Buffer.from(body, "utf8") : body;
}
