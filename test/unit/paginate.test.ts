// numberedPages against the simulator: the next page is asked for while the caller works on the
// current one only when the caller says it will read on, and never more pages than the walk reads.
import assert from "node:assert/strict";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { after, before, describe, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { BitbucketClient } from "../../src/bitbucket/client.js";
import { followNext, numberedPages } from "../../src/bitbucket/paginate.js";
import { type Simulator, startSimulator } from "../simulator/index.js";

describe("numberedPages", () => {
  let sim: Simulator;
  let slug: string;
  before(async () => {
    sim = await startSimulator({ seed: 3, repositories: 1, runsPerRepository: 250 });
    slug = sim.repositories()[0]!.slug;
  });
  after(() => sim.close());

  const client = (): BitbucketClient =>
    new BitbucketClient({
      apiUrl: sim.url,
      credentials: { auth_type: "bearer", token: "sim-token" },
      maxRetryWaitMs: 0,
      requestTimeoutMs: 5_000,
      sleep: (ms) => sleep(ms),
      now: Date.now,
      log: () => undefined,
    });
  const pagesAsked = (): number[] =>
    sim.requests.filter((r) => r.path.endsWith("/pipelines")).map((r) => Number(r.query.page?.[0]));
  const walk = (c: BitbucketClient, wantsNext: boolean) =>
    numberedPages(c, `/repositories/${sim.workspace}/${slug}/pipelines`, { sort: "-created_on" }, 100, [], () => wantsNext);

  test("asks for the next page while the caller works on this one, when the caller reads on", async () => {
    sim.requests.length = 0;
    const c = client();
    const pages = walk(c, true);
    assert.equal((await pages.next()).done, false);
    // The caller has page 1 and has not asked for more: page 2 is on its way all the same.
    for (let waited = 0; !pagesAsked().includes(2) && waited < 5_000; waited += 10) await sleep(10);
    assert.deepEqual(pagesAsked(), [1, 2]);
    let rows = 100;
    for await (const page of pages) rows += page.values.length;
    assert.equal(rows, 250);
    assert.deepEqual(pagesAsked(), [1, 2, 3], "the last page is known from size: no page 4");
    await c.close();
  });

  test("asks for nothing ahead when the caller may stop", async () => {
    sim.requests.length = 0;
    const c = client();
    const pages = walk(c, false);
    await pages.next();
    await sleep(200);
    assert.deepEqual(pagesAsked(), [1]);
    await pages.return(undefined);
    await c.close();
    assert.deepEqual(pagesAsked(), [1]);
  });

  test("a page asked for ahead and never read ends with the client, without an error", async () => {
    sim.requests.length = 0;
    const c = client();
    const pages = walk(c, true);
    await pages.next();
    await pages.return(undefined);
    await c.close();
    await sleep(100);
    assert.ok(pagesAsked().length <= 2, "at most the page asked for ahead");
  });
});

/** A listing server whose pages `page(n, url)` makes (a server that misbehaves on purpose). */
async function listingServer(
  page: (n: number, url: URL) => unknown,
): Promise<{ url: string; hits: () => number; close: () => Promise<void> }> {
  let hits = 0;
  const server = http.createServer((req, res) => {
    hits++;
    const url = new URL(req.url ?? "/", "http://x");
    res.writeHead(200, { "content-type": "application/json" });
    res.end(JSON.stringify(page(Number(url.searchParams.get("page") ?? 1), url)));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/2.0`,
    hits: () => hits,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

describe("listings that would never end, or end early", () => {
  const clientOf = (apiUrl: string): BitbucketClient =>
    new BitbucketClient({
      apiUrl,
      credentials: { auth_type: "bearer", token: "sim-token" },
      maxRetryWaitMs: 0,
      requestTimeoutMs: 5_000,
      sleep: (ms) => sleep(ms),
      now: Date.now,
      log: () => undefined,
    });
  const rows = (from: number, count: number) => Array.from({ length: count }, (_, i) => ({ uuid: `{${from + i}}` }));

  test("a `next` link back to a page already read stops the walk with a clear error", async () => {
    const server = await listingServer((_n, url) => ({ values: rows(0, 2), next: `${server.url}${url.pathname.slice(4)}` }));
    const c = clientOf(server.url);
    try {
      await assert.rejects(async () => {
        for await (const _ of followNext(c, `${server.url}/repositories/acme`));
      }, /points back to a page already read/);
      assert.equal(server.hits(), 2);
    } finally {
      await c.close();
      await server.close();
    }
  });

  test("a server that ignores `page` (and sends no size) stops the walk at the first repeat", async () => {
    const server = await listingServer(() => ({ values: rows(0, 10), pagelen: 10 }));
    const c = clientOf(server.url);
    try {
      await assert.rejects(async () => {
        for await (const _ of numberedPages(c, "/repositories/acme/r/pipelines", {}, 10));
      }, /repeats the one before it/);
      assert.equal(server.hits(), 2);
    } finally {
      await c.close();
      await server.close();
    }
  });

  test("a server that serves fewer rows a page than asked for is read to the end, by its pagelen", async () => {
    for (const withSize of [true, false]) {
      const served = 50;
      const total = 120;
      const server = await listingServer((n) => ({
        values: rows((n - 1) * served, Math.max(0, Math.min(served, total - (n - 1) * served))),
        pagelen: served,
        page: n,
        ...(withSize ? { size: total } : {}),
      }));
      const c = clientOf(server.url);
      try {
        const read: unknown[] = [];
        for await (const page of numberedPages(c, "/repositories/acme/r/pipelines", {}, 100)) read.push(...page.values);
        assert.equal(read.length, total, withSize ? "with size" : "without size");
        assert.equal(server.hits(), 3, "three pages of 50: the third has 20");
      } finally {
        await c.close();
        await server.close();
      }
    }
  });
});

describe("responses that would never end", () => {
  const serve = async (handler: http.RequestListener, requestTimeoutMs: number) => {
    const server = http.createServer(handler);
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/2.0`;
    return {
      client: new BitbucketClient({
        apiUrl: url,
        credentials: { auth_type: "bearer", token: "sim-token" },
        maxRetryWaitMs: 0,
        requestTimeoutMs,
        sleep: (ms) => sleep(ms),
        now: Date.now,
        log: () => undefined,
      }),
      url,
      close: () => {
        server.closeAllConnections();
        return new Promise<void>((resolve) => server.close(() => resolve()));
      },
    };
  };

  test("a body trickling in a byte at a time is cut at twice the request timeout", async () => {
    const s = await serve((_req, res) => {
      res.writeHead(200, { "content-type": "application/json" });
      const timer = setInterval(() => res.write(" "), 50);
      res.on("close", () => clearInterval(timer));
    }, 300);
    try {
      const started = performance.now();
      await assert.rejects(s.client.get(`${s.url}/repositories/acme`), /took longer than twice the request timeout/);
      assert.ok(performance.now() - started < 5_000);
    } finally {
      await s.client.close();
      await s.close();
    }
  });

  test("a body larger than 64 MB is refused, not retried", async () => {
    let requests = 0;
    const s = await serve((_req, res) => {
      requests++;
      res.writeHead(200, { "content-type": "application/json" });
      const mb = Buffer.alloc(2 ** 20, 0x20);
      const more = (): void => {
        while (!res.destroyed && res.write(mb));
        if (!res.destroyed) res.once("drain", more);
      };
      more();
    }, 60_000);
    try {
      await assert.rejects(s.client.get(`${s.url}/repositories/acme`), /larger than 64 MB/);
      assert.equal(requests, 1);
    } finally {
      await s.client.close();
      await s.close();
    }
  });
});
