// The two ways Bitbucket pages a listing (API notes §2.2 and §3.4):
// - most listings: follow the absolute `next` link (the client refuses one to another origin);
// - pipelines: build `page=N` URLs ourselves, because the real `next` drops `sort`, and stop
//   by `size` so the last page costs no extra request.
import { ConnectorError } from "../errors.js";
import type { BitbucketClient } from "./client.js";
import { PageItems } from "./json-body.js";

/** A page's items: an array, or for a large page its items parsed as they are reached. */
export type PageValues = readonly unknown[] | PageItems;

export interface Page {
  values: PageValues;
  size?: number;
}

function asPage(body: unknown, url: string): Page & { next?: string } {
  const page = body as { values?: unknown; size?: unknown; next?: unknown } | null;
  if (!page || typeof page !== "object" || !(Array.isArray(page.values) || page.values instanceof PageItems)) {
    const u = new URL(url);
    throw new ConnectorError(
      `Unexpected response from GET ${u.host}${u.pathname}: no "values" list.`,
      "system_error",
      "server_error",
    );
  }
  return {
    values: page.values as PageValues,
    ...(typeof page.size === "number" ? { size: page.size } : {}),
    ...(typeof page.next === "string" ? { next: page.next } : {}),
  };
}

export async function* followNext(client: BitbucketClient, firstUrl: string): AsyncGenerator<Page> {
  for (let url: string | undefined = firstUrl; url; ) {
    const page = asPage((await client.get(url)).body, url);
    yield page;
    url = page.values.length > 0 ? page.next : undefined;
  }
}

/**
 * Pages 1, 2, … of `path` with `pagelen = pageSize`. Stops on an empty page or when
 * page × pageSize reaches `size`. A tolerated status (e.g. 404) ends the walk and is returned.
 * When `wantsNext(page)` says the caller will surely read past a page, the next page is asked
 * for as soon as that page has arrived, so the caller works on one page while the next is on
 * its way. Never earlier: each page is asked for after the one before it was served, as in a
 * plain walk, so runs arriving mid-walk can only repeat rows, never hide one.
 */
export async function* numberedPages(
  client: BitbucketClient,
  path: string,
  query: Record<string, string | number | undefined>,
  pageSize: number,
  tolerate: number[] = [],
  wantsNext: (page: Page) => boolean = () => false,
): AsyncGenerator<Page, number | undefined> {
  const fetchPage = (page: number) => {
    const url = client.url(path, { ...query, pagelen: pageSize, page });
    const response = client.get(url, tolerate).then((r) => ({ url, ...r }));
    // A page asked for ahead is not awaited if the caller stops early: its failure is not an error.
    response.catch(() => {});
    return response;
  };
  let next = fetchPage(1);
  for (let page = 1; ; page++) {
    const response = await next;
    if (tolerate.includes(response.status)) return response.status;
    const current = asPage(response.body, response.url);
    const last =
      current.values.length === 0 ||
      (current.size !== undefined ? page * pageSize >= current.size : current.values.length < pageSize);
    const ahead = !last && wantsNext(current);
    if (ahead) next = fetchPage(page + 1);
    yield current;
    if (last) return undefined;
    if (!ahead) next = fetchPage(page + 1);
  }
}
