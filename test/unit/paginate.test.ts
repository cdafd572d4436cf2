// numberedPages against the simulator: the next page is asked for while the caller works on the
// current one only when the caller says it will read on, and never more pages than the walk reads.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { BitbucketClient } from "../../src/bitbucket/client.js";
import { numberedPages } from "../../src/bitbucket/paginate.js";
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
