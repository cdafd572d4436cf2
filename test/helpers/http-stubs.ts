// Two small HTTP servers for what the simulator cannot do by itself:
// - a trap: a server at another origin that records every request (and its Authorization header),
//   to prove the token is never sent there;
// - a proxy in front of the simulator that rewrites JSON bodies (odd API data, `next` links to
//   another origin).
import http from "node:http";
import type { AddressInfo, Socket } from "node:net";

export interface SeenRequest {
  url: string;
  authorization: string | undefined;
}

export interface StubServer {
  origin: string;
  port: number;
  requests: SeenRequest[];
  close(): Promise<void>;
}

function listen(server: http.Server, host: string, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => {
      server.off("error", reject);
      resolve((server.address() as AddressInfo).port);
    });
  });
}

function closer(server: http.Server): () => Promise<void> {
  const sockets = new Set<Socket>();
  server.on("connection", (s: Socket) => {
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
  });
  return () =>
    new Promise((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
      for (const s of sockets) s.destroy();
    });
}

/** A server that answers every request with a valid-looking empty page, and records it. */
export async function startTrap(host = "127.0.0.1", port = 0): Promise<StubServer> {
  const requests: SeenRequest[] = [];
  const server = http.createServer((req, res) => {
    requests.push({ url: req.url ?? "", authorization: req.headers.authorization });
    res.writeHead(200, { "content-type": "application/json" });
    res.end(JSON.stringify({ values: [], size: 0, pagelen: 10, page: 1 }));
  });
  const close = closer(server);
  const bound = await listen(server, host, port);
  return { origin: `http://${host}:${bound}`, port: bound, requests, close };
}

export interface ProxyOptions {
  /** Rewrite the simulator's origin to the proxy's in bodies (so `next` links stay on the proxy). Default true. */
  rewriteOrigin?: boolean;
  /** Answers a request itself (e.g. a 429) instead of forwarding it; undefined forwards it. */
  intercept?: (path: string) => { status: number; body: string; contentType?: string } | undefined;
  /** Changes a parsed 200 JSON body; `path` is the raw request path (no query). */
  transform?: (path: string, body: any, query: URLSearchParams) => unknown;
}

export interface Proxy extends StubServer {
  /** api_url for a config: the proxy's origin + "/2.0". */
  url: string;
}

/** A proxy to `targetOrigin` (the simulator) on 127.0.0.1. */
export async function startProxy(targetOrigin: string, options: ProxyOptions = {}): Promise<Proxy> {
  const requests: SeenRequest[] = [];
  let origin = "";
  const server = http.createServer((req, res) => {
    requests.push({ url: req.url ?? "", authorization: req.headers.authorization });
    const answer = options.intercept?.(new URL(req.url ?? "/", "http://x").pathname);
    if (answer) {
      res.writeHead(answer.status, {
        "content-type": answer.contentType ?? "text/plain",
        "content-length": String(Buffer.byteLength(answer.body)),
      });
      res.end(answer.body);
      return;
    }
    const headers: Record<string, string> = { accept: "application/json" };
    if (req.headers.authorization) headers.authorization = req.headers.authorization;
    const upstream = http.request(`${targetOrigin}${req.url ?? "/"}`, { method: req.method, headers }, (up) => {
      const chunks: Buffer[] = [];
      up.on("data", (c: Buffer) => chunks.push(c));
      up.on("error", () => res.destroy());
      up.on("end", () => {
        let body = Buffer.concat(chunks).toString("utf8");
        const type = String(up.headers["content-type"] ?? "");
        if (up.statusCode === 200 && type.startsWith("application/json")) {
          if (options.rewriteOrigin !== false) body = body.replaceAll(targetOrigin, origin);
          if (options.transform) {
            const url = new URL(req.url ?? "/", "http://x");
            body = JSON.stringify(options.transform(url.pathname, JSON.parse(body), url.searchParams));
          }
        }
        const out: Record<string, string> = { "content-type": type || "text/plain" };
        if (typeof up.headers.location === "string") out.location = up.headers.location;
        if (typeof up.headers["retry-after"] === "string") out["retry-after"] = up.headers["retry-after"];
        res.writeHead(up.statusCode ?? 502, { ...out, "content-length": String(Buffer.byteLength(body)) });
        res.end(body);
      });
    });
    upstream.on("error", () => res.destroy());
    upstream.end();
  });
  const close = closer(server);
  const port = await listen(server, "127.0.0.1", 0);
  origin = `http://127.0.0.1:${port}`;
  return { origin, port, url: `${origin}/2.0`, requests, close };
}
