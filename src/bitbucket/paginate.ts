// The two ways Bitbucket pages a listing (API notes §2.2 and §3.4):
// - most listings: follow the absolute `next` link (the client refuses one to another origin);
// - pipelines: build `page=N` URLs ourselves, because the real `next` drops `sort`, and stop
//   by `size` so the last page costs no extra request.
import { ConnectorError } from "../errors.js";
import type { ApiResponse, BitbucketClient } from "./client.js";

export interface Page {
  values: readonly unknown[];
  size?: number;
}

function asPage(body: unknown, url: string): Page & { next?: string; pagelen?: number } {
  const page = body as { values?: unknown; size?: unknown; next?: unknown; pagelen?: unknown } | null;
  if (!page || typeof page !== "object" || !Array.isArray(page.values)) {
    throw listingError(url, 'no "values" list');
  }
  const count = (n: unknown): n is number => Number.isSafeInteger(n) && (n as number) >= 0;
  return {
    values: page.values,
    ...(count(page.size) ? { size: page.size } : {}),
    ...(typeof page.next === "string" ? { next: page.next } : {}),
    ...(count(page.pagelen) && page.pagelen > 0 ? { pagelen: page.pagelen } : {}),
  };
}

function listingError(url: string, what: string): ConnectorError {
  const u = new URL(url);
  return new ConnectorError(`Unexpected response from GET ${u.host}${u.pathname}: ${what}.`, "bad_response");
}

/** A page's first and last items, to tell a page served twice. */
function ends(values: readonly unknown[]): string {
  return values.length === 0 ? "" : `${values.length} ${JSON.stringify(values[0])} ${JSON.stringify(values.at(-1))}`;
}

/**
 * Stops a listing that would never end: a `next` link back to a page already read, or a page
 * that repeats the one before it (a server that ignores `page`). Either would spend the whole
 * hourly request budget and read nothing new.
 */
class LoopGuard {
  private readonly urls = new Set<string>();
  private lastEnds = "";

  check(url: string, page: Page): void {
    if (this.urls.has(url)) throw listingError(url, "its `next` link points back to a page already read");
    this.urls.add(url);
    const now = ends(page.values);
    if (now !== "" && now === this.lastEnds) {
      throw listingError(url, "this page repeats the one before it (the server ignores `page`); stopped to spare the rate limit");
    }
    this.lastEnds = now;
  }
}

/** Follows `next` links from `firstUrl`. A tolerated status (e.g. 404) ends the walk. */
export async function* followNext(
  client: BitbucketClient,
  firstUrl: string,
  tolerate: number[] = [],
): AsyncGenerator<Page & { next?: string }> {
  const guard = new LoopGuard();
  for (let url: string | undefined = firstUrl; url; ) {
    const response = await client.get(url, tolerate);
    if (tolerate.includes(response.status)) return;
    const page = asPage(response.body, url);
    guard.check(url, page);
    yield page;
    url = page.values.length > 0 ? page.next : undefined;
  }
}

/**
 * Pages 1, 2, … of `path` with `pagelen = pageSize`. Stops on an empty page or when page ×
 * pagelen reaches `size`, with the pagelen the server used: it may serve fewer than asked for,
 * and its `pagelen` may understate what it sent (a recorded steps page says 1 and holds 2), so
 * the larger of the two. A tolerated status (e.g. 404) ends the walk and is returned.
 */
export async function* numberedPages(
  client: BitbucketClient,
  path: string,
  query: Record<string, string | number | undefined>,
  pageSize: number,
  tolerate: number[] = [],
): AsyncGenerator<Page, ApiResponse | undefined> {
  const guard = new LoopGuard();
  for (let page = 1; ; page++) {
    const url = client.url(path, { ...query, pagelen: pageSize, page });
    const response = await client.get(url, tolerate);
    if (tolerate.includes(response.status)) return response;
    const current = asPage(response.body, url);
    guard.check(url, current);
    yield current;
    if (current.values.length === 0) return undefined;
    const served = Math.max(current.pagelen ?? 0, current.values.length);
    if (current.size !== undefined) {
      if (page * served >= current.size) return undefined;
    } else if (!current.next && current.values.length < (current.pagelen ?? pageSize)) return undefined;
  }
}
