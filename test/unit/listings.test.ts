// Listings and responses that misbehave (a server on 127.0.0.1 that does it on purpose), and a
// client closed while a request waits to be retried.
import assert from "node:assert/strict";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { describe, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { BitbucketClient } from "../../src/bitbucket/client.js";
import { followNext, numberedPages } from "../../src/bitbucket/paginate.js";

describe("closing the client", () => {
  test("stops a request waiting to be retried: nothing outlives the read", async () => {
    let requests = 0;
    const server = http.createServer((_req, res) => {
      requests++;
      res.writeHead(500, { "content-type": "application/json" });
      res.end('{"type":"error","error":{"message":"boom"}}');
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const client = new BitbucketClient({
      apiUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}/2.0`,
      credentials: { auth_type: "bearer", token: "sim-token" },
      maxRetryWaitMs: 3_600_000,
      requestTimeoutMs: 5_000,
      sleep: (ms, signal) => sleep(ms, undefined, signal ? { signal } : undefined),
      now: Date.now,
      log: () => undefined,
    });
    try {
      const pending = client.get(client.url("/repositories/acme"));
      pending.catch(() => undefined);
      for (let waited = 0; requests === 0 && waited < 5_000; waited += 10) await sleep(10);
      const started = performance.now();
      await client.close();
      await assert.rejects(pending, /aborted|closed/);
      assert.ok(performance.now() - started < 1_000, "it stopped at once, not after its backoff");
      assert.equal(requests, 1);
    } finally {
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
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

/** A client that does not retry, for servers that misbehave on purpose. */
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

describe("listings that would never end, or end early", () => {
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

describe("paging decided by what the server sent", () => {
  test("a page whose pagelen understates its items (recorded: pagelen 1, 2 steps, size 2) is the last one", async () => {
    const server = await listingServer(() => ({ page: 1, pagelen: 1, size: 2, values: [{ uuid: "{a}" }, { uuid: "{b}" }] }));
    const c = clientOf(server.url);
    try {
      const read: unknown[] = [];
      for await (const page of numberedPages(c, "/repositories/acme/r/pipelines/%7Bp%7D/steps/", {}, 100))
        read.push(...page.values);
      assert.equal(read.length, 2);
      assert.equal(server.hits(), 1, "no request for a page 2 that cannot exist");
    } finally {
      await c.close();
      await server.close();
    }
  });

  test("a page with no items ends the walk, whatever size says", async () => {
    const server = await listingServer((n) => ({ page: n, pagelen: 10, size: 500, values: n === 1 ? [{ uuid: "{a}" }] : [] }));
    const c = clientOf(server.url);
    try {
      const read: unknown[] = [];
      for await (const page of numberedPages(c, "/repositories/acme/r/pipelines/", {}, 10)) read.push(...page.values);
      assert.equal(read.length, 1);
      assert.equal(server.hits(), 2);
    } finally {
      await c.close();
      await server.close();
    }
  });

  test('a tolerated 404 that says "no API hosted at this URL" is an error naming the URL, not an empty listing', async () => {
    const server = http.createServer((_req, res) => {
      res.writeHead(404, { "content-type": "application/json" });
      res.end(
        JSON.stringify({
          type: "error",
          error: {
            message: "Resource not found",
            detail: "There is no API hosted at this URL.\n\nFor information about our API's, please refer to the documentation",
          },
        }),
      );
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const c = clientOf(`http://127.0.0.1:${(server.address() as AddressInfo).port}/2.0`);
    try {
      await assert.rejects(
        async () => {
          for await (const _ of numberedPages(c, "/repositories/acme/r/environments", {}, 100, [404]));
        },
        (error: Error & { failureType?: string }) =>
          /GET 127\.0\.0\.1:\d+\/2\.0\/repositories\/acme\/r\/environments answered 404: Bitbucket serves no API at this URL/.test(
            error.message,
          ) && error.failureType === "system_error",
      );
    } finally {
      await c.close();
      await new Promise<void>((resolve) => server.close(() => resolve()));
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
