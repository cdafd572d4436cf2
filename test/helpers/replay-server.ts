// Replays our fixtures in the shapes the real API sends (test/fixtures/real-api, see its README):
// a node:http server on 127.0.0.1 that serves each listing page as written, pages the workspace's
// repositories by the request's sort, q, pagelen and page, applies `fields` as Bitbucket does,
// and records every request. Collections are answered with and without the trailing slash.
import { existsSync, readFileSync } from "node:fs";
import http from "node:http";
import type { AddressInfo, Socket } from "node:net";
import { join } from "node:path";

export const FIXTURES = new URL("../fixtures/real-api/", import.meta.url).pathname;

/** The day the fixtures were written for: the server moves every date so that it is today (UTC). */
const FIXTURE_DAY = Date.UTC(2025, 2, 12);

/** Whole days from the fixtures' day to today. */
export function dayShift(now = Date.now()): number {
  return Math.floor((now - FIXTURE_DAY) / 86_400_000);
}

/** Moves the date of every timestamp in `text` by `days`, leaving its time, fraction and zone as written. */
export function shiftDates(text: string, days: number): string {
  return text.replace(/\b(\d{4})-(\d{2})-(\d{2})(?=T\d{2}:\d{2})/g, (_, y: string, m: string, d: string) =>
    new Date(Date.UTC(+y, +m - 1, +d) + days * 86_400_000).toISOString().slice(0, 10),
  );
}

/** A fixture file as the server serves it (dates moved), or undefined when no root has it. */
export function readFixture(roots: string[], path: string, days: number): any {
  for (const root of roots) {
    const file = join(FIXTURES, root, path);
    if (existsSync(file)) return JSON.parse(shiftDates(readFileSync(file, "utf8"), days));
  }
  return undefined;
}

/** Every page of a listing fixture (from the first root that has its page 1), in order. */
export function listingPages(roots: string[], path: string, days: number): any[] {
  const root = roots.find((r) => existsSync(join(FIXTURES, r, path, "page-1.json")));
  if (!root) return [];
  const pages = [];
  for (let n = 1; existsSync(join(FIXTURES, root, path, `page-${n}.json`)); n++) {
    pages.push(readFixture([root], `${path}/page-${n}.json`, days));
  }
  return pages;
}

/** Every item of a listing fixture. */
export function listingValues(roots: string[], path: string, days: number): any[] {
  return listingPages(roots, path, days).flatMap((p) => p.values);
}

export interface ReplayServer {
  /** api_url for a config. */
  url: string;
  /** Path and query of every request, as sent. */
  requests: string[];
  /** Requests no fixture answers (they got a 404). */
  unmatched: string[];
  /** Which fixture sets answer, first one first (e.g. ["second-read", "first-read"]). */
  roots: string[];
  days: number;
  close(): Promise<void>;
}

export async function startReplay(roots: string[], days = dayShift()): Promise<ReplayServer> {
  const state = { roots, days };
  const requests: string[] = [];
  const unmatched: string[] = [];
  let origin = "";
  const server = http.createServer((req, res) => {
    requests.push(req.url ?? "");
    const url = new URL(req.url ?? "/", origin);
    const send = (status: number, body: unknown) => {
      const text = typeof body === "string" ? body : JSON.stringify(body);
      res.writeHead(status, {
        "content-type": typeof body === "string" ? "text/plain" : "application/json",
        "content-length": String(Buffer.byteLength(text)),
      });
      res.end(text);
    };
    if (!req.headers.authorization) return send(401, "Login failed due to incorrect login credentials or method.");
    const answer = respond(state.roots, state.days, url);
    if (!answer) {
      unmatched.push(req.url ?? "");
      return send(404, {
        type: "error",
        error: { message: "Resource not found", detail: "There is no API hosted at this URL." },
      });
    }
    if (answer.status !== 200) return send(answer.status, answer.body);
    const fields = url.searchParams.get("fields");
    send(200, fields ? applyFields(answer.body, fields) : answer.body);
  });
  const sockets = new Set<Socket>();
  server.on("connection", (s: Socket) => {
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url: `${origin}/2.0`,
    requests,
    unmatched,
    get roots() {
      return state.roots;
    },
    set roots(value: string[]) {
      state.roots = value;
    },
    days,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const s of sockets) s.destroy();
      }),
  };
}

function respond(roots: string[], days: number, url: URL): { status: number; body: unknown } | undefined {
  if (!url.pathname.startsWith("/2.0/")) return undefined;
  // `/pipelines` and `/pipelines/` alike; braced uuids arrive as %7B…%7D.
  const path = decodeURIComponent(url.pathname.slice("/2.0/".length)).replace(/\/$/, "");
  const page = Number(url.searchParams.get("page") ?? "1");
  if (/^repositories\/[^/]+$/.test(path)) {
    const all = readFixture(roots, `${path}.json`, days);
    return all === undefined ? undefined : repositoriesPage(all, url);
  }
  const pages = listingPages(roots, path, days);
  if (pages.length > 0) {
    // Past the last page written: an empty page, as the API answers.
    const last = pages[pages.length - 1];
    return { status: 200, body: pages[page - 1] ?? { page, pagelen: last.pagelen, size: last.size, values: [] } };
  }
  const single = readFixture(roots, `${path}.json`, days);
  return single === undefined ? undefined : { status: 200, body: single };
}

/** The workspace's repositories filtered by q (updated_on >= / > a datetime), sorted and paged as asked. */
function repositoriesPage(all: any[], url: URL): { status: number; body: unknown } {
  const bad = (message: string) => ({ status: 400, body: { type: "error", error: { message } } });
  let values = all;
  const q = url.searchParams.get("q");
  if (q) {
    const m = /^updated_on\s*(>=|>)\s*(\S+)$/.exec(q.trim());
    if (!m) return bad(`Invalid query: ${q}`);
    const since = instant(m[2]!);
    if (!since) return bad(`Invalid datetime in query: ${m[2]}`);
    values = values.filter((r) => (m[1] === ">=" ? instant(r.updated_on)! >= since : instant(r.updated_on)! > since));
  }
  const sort = url.searchParams.get("sort");
  if (sort) {
    const field = sort.replace(/^-/, "");
    if (field !== "created_on" && field !== "updated_on") return bad(`Invalid sort field: ${sort}`);
    const sign = sort.startsWith("-") ? -1 : 1;
    values = [...values].sort((a, b) => sign * instant(a[field])!.localeCompare(instant(b[field])!));
  }
  const pagelen = Math.min(100, Number(url.searchParams.get("pagelen") ?? "10"));
  const page = Number(url.searchParams.get("page") ?? "1");
  const body: Record<string, unknown> = {
    pagelen,
    size: values.length,
    values: values.slice((page - 1) * pagelen, page * pagelen),
    page,
  };
  if (page * pagelen < values.length) {
    const next = new URL(url);
    next.searchParams.set("page", String(page + 1));
    body.next = next.toString();
  }
  return { status: 200, body };
}

/** A timestamp as a string that sorts by time: UTC, nine fraction digits. */
export function instant(value: string): string | undefined {
  const m = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d{1,9}))?(Z|[+-]\d\d:\d\d)$/.exec(value);
  if (!m) return undefined;
  const seconds = Date.parse(`${m[1]}${m[3]}`);
  return `${new Date(seconds).toISOString().slice(0, 19)}.${(m[2] ?? "").padEnd(9, "0")}Z`;
}

/**
 * Bitbucket's partial responses: `a.b` alone keeps only the paths listed, `-a.b` removes one,
 * `+a.b` asks for one the default leaves out (all of ours are in already). Paths go through arrays.
 */
export function applyFields(body: unknown, fields: string): unknown {
  const specs = fields.split(",").map((f) => f.trim());
  const only = specs.filter((f) => !f.startsWith("-") && !f.startsWith("+"));
  let out =
    only.length > 0
      ? pick(
          body,
          only.map((f) => f.split(".")),
        )
      : structuredClone(body);
  for (const f of specs.filter((s) => s.startsWith("-"))) out = omit(out, f.slice(1).split("."));
  return out;
}

function pick(value: unknown, paths: string[][]): unknown {
  if (Array.isArray(value)) return value.map((v) => pick(v, paths));
  if (!value || typeof value !== "object") return value;
  const out: Record<string, unknown> = {};
  for (const [key, child] of Object.entries(value)) {
    const rest = paths.filter((p) => p[0] === key || p[0] === "*").map((p) => p.slice(1));
    if (rest.length === 0) continue;
    out[key] = rest.some((p) => p.length === 0) ? structuredClone(child) : pick(child, rest);
  }
  return out;
}

function omit(value: unknown, path: string[]): unknown {
  if (Array.isArray(value)) return value.map((v) => omit(v, path));
  if (!value || typeof value !== "object") return value;
  const [head, ...rest] = path;
  const out = { ...(value as Record<string, unknown>) };
  if (rest.length === 0) delete out[head!];
  else if (head! in out) out[head!] = omit(out[head!], rest);
  return out;
}
