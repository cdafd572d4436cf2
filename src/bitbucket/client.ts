// The one HTTP client: auth header, keep-alive pool, timeouts, origin pinning and the retry loop.
// Nothing else in the connector talks HTTP or catches HTTP failures.
import { setMaxListeners } from "node:events";
import { Agent, request } from "undici";
import type { Credentials } from "../config.js";
import { ConnectorError, FAILURES } from "../errors.js";
import { describeApiError, errorMessageOf, kindOfStatus } from "./errors.js";
import { backoffMs, parseRetryAfter, type RetryReason } from "./retry-policy.js";

/** Refused beyond this: a page of 100 runs is about 230 KB. */
const MAX_BODY_BYTES = 64 * 2 ** 20;

export interface ClientOptions {
  apiUrl: string;
  credentials: Credentials;
  maxRetryWaitMs: number;
  requestTimeoutMs: number;
  /** Spread requests evenly to stay under this many an hour. */
  maxRequestsPerHour?: number;
  sleep: (ms: number, signal?: AbortSignal) => Promise<void>;
  /** Aborted when the sync is abandoned: waits and requests stop. */
  signal?: AbortSignal;
  now: () => number;
  log: (level: "WARN" | "INFO", message: string) => void;
}

export interface ApiResponse {
  status: number;
  body: unknown;
}

/** The parsed body, or undefined when it is not valid JSON. */
function parseJsonBody(chunks: Buffer[]): unknown {
  try {
    return JSON.parse(Buffer.concat(chunks).toString("utf8"));
  } catch {
    return undefined;
  }
}

export class BitbucketClient {
  readonly origin: string;
  /** Requests sent, retries included. */
  requestCount = 0;
  private readonly agent: Agent;
  private readonly authorization: string;
  /** Aborted by close(): a request or retry wait still going (its read ended elsewhere) stops there. */
  private readonly closing = new AbortController();
  /** Aborted when the sync is abandoned or the client closed. */
  private readonly signal: AbortSignal;
  private waitedMs = 0;
  private waitedUntil = 0;
  private pausedUntil = 0;
  private consecutiveRateLimits = 0;
  private nearLimitGapMs = 0;
  private nextSlot = 0;
  private hourlyLimit: number;
  /** Start times of the requests of the last hour, oldest first. */
  private readonly lastHour: number[] = [];

  constructor(private readonly options: ClientOptions) {
    this.origin = new URL(options.apiUrl).origin;
    this.hourlyLimit = options.maxRequestsPerHour ?? 1000;
    this.signal = options.signal ? AbortSignal.any([options.signal, this.closing.signal]) : this.closing.signal;
    // Every request and retry wait in flight listens to it (up to 16 repositories at once): not a leak.
    setMaxListeners(256, this.signal);
    this.agent = new Agent({ keepAliveTimeout: 30_000, connections: 32, pipelining: 1 });
    const c = options.credentials;
    this.authorization =
      c.auth_type === "bearer" ? `Bearer ${c.token}` : `Basic ${Buffer.from(`${c.email}:${c.api_token}`).toString("base64")}`;
  }

  /** Absolute URL of an API path such as `/repositories/acme`, with the query appended. */
  url(path: string, query: Record<string, string | number | undefined> = {}): string {
    const url = new URL(this.options.apiUrl + path);
    for (const [key, value] of Object.entries(query)) {
      if (value !== undefined) url.searchParams.set(key, String(value));
    }
    // BBQL wants %20 and %2B, not '+' for a space (API notes §2.3).
    return url.toString().replaceAll("+", "%20");
  }

  /**
   * GETs JSON, retrying 429, 5xx, network failures and unparsable 2xx bodies within the wait
   * budget. `tolerate` lists statuses returned to the caller instead of thrown (e.g. 404).
   */
  async get(url: string, tolerate: number[] = []): Promise<ApiResponse> {
    const failures = new Map<string, number>();
    for (let redirects = 0; ; ) {
      this.assertOwnOrigin(url);
      this.signal.throwIfAborted();
      await this.waitForTurn();
      this.requestCount++;
      this.lastHour.push(this.options.now());
      let status: number;
      const chunks: Buffer[] = [];
      let headers: Record<string, string | string[] | undefined>;
      try {
        const response = await request(url, {
          dispatcher: this.agent,
          method: "GET",
          headers: {
            authorization: this.authorization,
            accept: "application/json",
            "user-agent": "source-bitbucket-pipelines",
          },
          headersTimeout: this.options.requestTimeoutMs,
          signal: this.signal,
          bodyTimeout: this.options.requestTimeoutMs,
        });
        status = response.statusCode;
        headers = response.headers;
        // undici's timeouts are per wait: a body trickling in a byte at a time needs a deadline.
        const deadline = performance.now() + 2 * this.options.requestTimeoutMs;
        let size = 0;
        for await (const chunk of response.body) {
          chunks.push(chunk as Buffer);
          size += (chunk as Buffer).length;
          if (size > MAX_BODY_BYTES) {
            throw this.fail(
              url,
              `the response is larger than ${MAX_BODY_BYTES / 2 ** 20} MB (a page is normally well under 1 MB)`,
            );
          }
          if (performance.now() > deadline) throw Object.assign(new Error("deadline"), { code: "BODY_DEADLINE" });
        }
      } catch (error) {
        if (error instanceof ConnectorError) throw error;
        if ((error as { code?: string }).code === "UND_ERR_INVALID_ARG") throw this.fail(url, "the request is invalid");
        await this.backOff(url, "unreachable", failures, networkReason(error));
        continue;
      }
      this.noteRateLimitHeaders(headers);

      if (status >= 300 && status < 400 && typeof headers.location === "string") {
        if (++redirects > 5) throw this.fail(url, `too many redirects`);
        url = new URL(headers.location, url).toString();
        continue;
      }
      const errorBody = status >= 300 ? (parseJsonBody(chunks) ?? Buffer.concat(chunks).toString("utf8")) : undefined;
      const kind = kindOfStatus(status, errorBody);
      if (kind !== "ok" && FAILURES[kind].retry) {
        const rateLimited = kind === "rate_limited";
        const what = rateLimited ? "429 rate limited" : `${status} ${errorMessageOf(errorBody) ?? "server error"}`;
        const retryAfter = rateLimited ? parseRetryAfter(header(headers, "retry-after"), this.options.now()) : undefined;
        await this.backOff(url, kind as RetryReason, failures, what, retryAfter);
        continue;
      }
      if (kind !== "ok") {
        // A "no API here" 404 is never what a caller that tolerates 404s means by "not found".
        if (tolerate.includes(status) && kind !== "no_api") return { status, body: errorBody };
        throw describeApiError(status, errorBody, url, this.origin);
      }
      const body = parseJsonBody(chunks);
      if (body === undefined) {
        await this.backOff(url, "server_error", failures, `a ${status} response whose body is not valid JSON`);
        continue;
      }
      this.consecutiveRateLimits = 0;
      return { status, body };
    }
  }

  close(): Promise<void> {
    this.closing.abort(new Error("The client is closed."));
    return this.agent.close();
  }

  /** The token goes only to api_url's origin: a `next` link or redirect elsewhere is refused. */
  private assertOwnOrigin(url: string): void {
    const origin = new URL(url).origin;
    if (origin !== this.origin) {
      throw new ConnectorError(
        `Refused to send the credentials to ${origin}: the API pointed to a host other than api_url (${this.origin}). The sync stops here.`,
        "foreign_origin",
      );
    }
  }

  /** Requests left in the rolling hour, by the configured pace or Bitbucket's stated limit. */
  requestsLeftThisHour(): number {
    const hourAgo = this.options.now() - 3_600_000;
    while (this.lastHour.length > 0 && this.lastHour[0]! < hourAgo) this.lastHour.shift();
    return Math.max(0, this.hourlyLimit - this.lastHour.length);
  }

  /** Waits for a rate-limit pause to end and for this request's slot in the pace. */
  private async waitForTurn(): Promise<void> {
    for (;;) {
      const now = this.options.now();
      const pace = this.options.maxRequestsPerHour ? Math.ceil(3_600_000 / this.options.maxRequestsPerHour) : 0;
      const slot = Math.max(now, this.pausedUntil, this.nextSlot);
      this.nextSlot = slot + Math.max(pace, this.nearLimitGapMs);
      if (slot > now) await this.sleep(slot - now);
      if (this.options.now() >= this.pausedUntil) return;
    }
  }

  private async backOff(
    url: string,
    reason: RetryReason,
    failures: Map<string, number>,
    what: string,
    retryAfterS?: number,
  ): Promise<void> {
    const attempt = (failures.get(reason) ?? 0) + 1;
    failures.set(reason, attempt);
    const now = this.options.now();
    if (reason === "rate_limited" && this.pausedUntil > now) {
      // Sent before another request's 429 paused everyone: wait with the others, at no extra cost.
      await this.waitForTurn();
      return;
    }
    if (reason === "rate_limited") this.consecutiveRateLimits++;
    const wait = backoffMs(reason, reason === "rate_limited" ? this.consecutiveRateLimits : attempt, retryAfterS);
    // The budget is waiting time, not a sum per request: concurrent waits that overlap count once.
    const until = now + wait;
    const cost = Math.max(0, until - Math.max(now, this.waitedUntil));
    const budget = this.options.maxRetryWaitMs;
    if (this.waitedMs + cost > budget) {
      throw new ConnectorError(
        `Gave up on ${this.describe(url)} after ${attempt} attempt(s): ${what}. The retry wait budget of ${Math.round(budget / 1000)} s is spent (config max_retry_wait_seconds; check waits at most 30 s); a later sync resumes from the last state.`,
        reason,
      );
    }
    this.waitedMs += cost;
    this.waitedUntil = Math.max(this.waitedUntil, until);
    this.options.log(
      "WARN",
      `${this.describe(url)}: ${what}; retrying in ${Math.round(wait / 100) / 10} s (attempt ${attempt + 1}).`,
    );
    if (reason === "rate_limited") {
      // One pause for every request in flight: the limit is per user, not per request.
      this.pausedUntil = Math.max(this.pausedUntil, until);
      await this.waitForTurn();
    } else {
      await this.sleep(wait);
    }
  }

  /** Waits, unless the sync is abandoned (its output went away): then it stops at once. */
  private async sleep(ms: number): Promise<void> {
    this.signal.throwIfAborted();
    await this.options.sleep(ms, this.signal);
  }

  private noteRateLimitHeaders(headers: Record<string, string | string[] | undefined>): void {
    const near = header(headers, "x-ratelimit-nearlimit");
    if (near === undefined) return;
    const limit = Number(header(headers, "x-ratelimit-limit")) || 1000;
    if (!this.options.maxRequestsPerHour) this.hourlyLimit = limit;
    const gap = near.toLowerCase() === "true" ? Math.ceil(3_600_000 / limit) : 0;
    if (gap > 0 && this.nearLimitGapMs === 0) {
      this.options.log(
        "WARN",
        `Bitbucket says the rate limit is near (${limit} requests an hour): slowing to one request every ${gap / 1000} s.`,
      );
    }
    this.nearLimitGapMs = gap;
  }

  private describe(url: string): string {
    const u = new URL(url);
    return `GET ${u.host}${u.pathname}`;
  }

  private fail(url: string, what: string): ConnectorError {
    return new ConnectorError(`${this.describe(url)} failed: ${what}.`, "bad_response");
  }
}

function header(headers: Record<string, string | string[] | undefined>, name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value[0] : value;
}

function networkReason(error: unknown): string {
  const e = error as { code?: string; message?: string; cause?: { code?: string } };
  const code = e.code ?? e.cause?.code;
  const known: Record<string, string> = {
    ECONNREFUSED: "connection refused",
    ECONNRESET: "connection reset",
    ENOTFOUND: "host not found",
    EAI_AGAIN: "DNS lookup failed",
    ETIMEDOUT: "connection timed out",
    UND_ERR_HEADERS_TIMEOUT: "no response within the request timeout",
    UND_ERR_BODY_TIMEOUT: "the response body stalled past the request timeout",
    UND_ERR_SOCKET: "the connection closed in the middle of the response",
    UND_ERR_CONNECT_TIMEOUT: "connection timed out",
    BODY_DEADLINE: "the response body took longer than twice the request timeout",
  };
  return code ? (known[code] ?? code) : "network error";
}
