// Behaviour of the Bitbucket simulator itself: it must page, filter, authenticate and fail like the real API
// (shared/reference/bitbucket-api.md §1.2, §2, §3, §4, §7 and the quirks list).
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { describe, it } from "node:test";
import { fileURLToPath } from "node:url";

import {
  type PipelineJson,
  type RepositoryJson,
  type Simulator,
  type SimulatorOptions,
  startSimulator,
} from "../simulator/index.js";

const NOW = new Date("2025-06-01T12:00:00Z");
const BEARER = "Bearer sim-token";
const BASIC = `Basic ${Buffer.from("dev@example.com:sim-api-token").toString("base64")}`;

interface Page<T> {
  page?: number;
  pagelen?: number;
  size?: number;
  values: T[];
  next?: string;
}

interface Got {
  status: number;
  headers: Headers;
  text: string;
}

async function withSim(opts: SimulatorOptions, body: (sim: Simulator) => Promise<void>): Promise<void> {
  const sim = await startSimulator({ now: NOW, ...opts });
  try {
    await body(sim);
  } finally {
    await sim.close();
  }
}

async function get(
  sim: Simulator,
  pathOrUrl: string,
  authorization: string | null = BEARER,
  init: RequestInit = {},
): Promise<Got> {
  const url = pathOrUrl.startsWith("http") ? pathOrUrl : `${sim.url}${pathOrUrl}`;
  const headers: Record<string, string> = authorization === null ? {} : { authorization };
  const res = await fetch(url, { ...init, headers });
  return { status: res.status, headers: res.headers, text: await res.text() };
}

async function getJson<T>(sim: Simulator, pathOrUrl: string, authorization: string | null = BEARER): Promise<T> {
  const res = await get(sim, pathOrUrl, authorization);
  assert.equal(res.status, 200, `GET ${pathOrUrl} -> ${res.status} ${res.text}`);
  assert.match(res.headers.get("content-type") ?? "", /^application\/json/);
  return JSON.parse(res.text) as T;
}

const ms = (iso: string): number => Date.parse(iso);

describe("simulator: generated data", () => {
  it("is deterministic for a seed and differs across seeds", async () => {
    const a = await startSimulator({ now: NOW, seed: 5 });
    const b = await startSimulator({ now: NOW, seed: 5 });
    const c = await startSimulator({ now: NOW, seed: 6 });
    try {
      assert.deepEqual(a.repositories(), b.repositories());
      const slug = a.repositories()[0]?.slug ?? "";
      assert.deepEqual(a.runs(slug), b.runs(slug));
      assert.notDeepEqual(a.runs(slug), c.runs(slug));
      assert.deepEqual(
        a.repositories().map((r) => r.slug),
        ["web-app", "api-gateway", "mobile-app"],
      );
    } finally {
      await Promise.all([a.close(), b.close(), c.close()]);
    }
  });

  it("builds repository objects like §2.4", async () => {
    await withSim({}, async (sim) => {
      const [repo] = sim.repositories();
      assert.ok(repo);
      assert.equal(repo.type, "repository");
      assert.match(repo.uuid, /^\{[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}\}$/);
      assert.equal(repo.full_name, `acme/${repo.slug}`);
      assert.match(repo.created_on, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}\+00:00$/);
      assert.match(repo.updated_on, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}\+00:00$/);
      assert.ok(ms(repo.updated_on) >= ms(repo.created_on));
      assert.equal(repo.project.type, "project");
      assert.equal(repo.mainbranch.type, "branch");
      assert.equal(repo.links.self.href, `https://api.bitbucket.org/2.0/repositories/acme/${repo.slug}`);
      const one = await getJson<RepositoryJson>(sim, `/repositories/acme/${repo.slug}`);
      assert.deepEqual(one, repo);
    });
  });

  it("builds a realistic run history (§4)", async () => {
    await withSim({ repositories: 12, runsPerRepository: 60 }, async (sim) => {
      const all: PipelineJson[] = [];
      for (const repo of sim.repositories()) {
        const runs = sim.runs(repo.slug);
        assert.equal(runs.length, 60);
        for (let i = 1; i < runs.length; i++) {
          const prev = runs[i - 1];
          const cur = runs[i];
          assert.ok(prev && cur);
          assert.ok(ms(cur.created_on) > ms(prev.created_on), "created_on strictly increasing");
          assert.ok(cur.build_number > prev.build_number, "build_number increasing");
        }
        const first = runs[0];
        assert.ok(first && ms(first.created_on) >= NOW.getTime() - 91 * 86_400_000);
        all.push(...runs);
      }
      const digits = new Set(all.map((r) => /\.(\d+)Z$/.exec(r.created_on)?.[1]?.length));
      assert.ok(digits.has(3) && digits.has(6) && digits.has(9), `fraction digits seen: ${[...digits].join(",")}`);
      for (const r of all) {
        assert.match(r.created_on, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3,9}Z$/);
        assert.match(r.uuid, /^\{[0-9a-f-]{36}\}$/);
        assert.equal(r.type, "pipeline");
        assert.equal(r.run_number, 1);
        assert.equal(r.state.name === "COMPLETED", r.completed_on !== undefined, "completed_on only when completed");
        assert.match(
          r.links.self.href,
          /^https:\/\/bitbucket-pipelines\.prod\.public\.atl-paas\.net\/rest\/1\.0\/accounts\/\{.+\}\/repositories\/\{.+\}\/pipelines\/\{.+\}$/,
        );
        assert.equal(r.links.steps.href, `${r.links.self.href}/steps`);
        if (r.state.result?.name === "ERROR") assert.equal(r.state.result.error?.type, "pipeline_error");
        if (r.state.result?.name === "STOPPED") assert.equal(r.state.result.terminator?.type, "user");
      }
      const seen = (f: (r: PipelineJson) => string | undefined): Set<string | undefined> => new Set(all.map(f));
      const results = seen((r) => r.state.result?.name);
      for (const name of ["SUCCESSFUL", "FAILED", "ERROR", "STOPPED"]) assert.ok(results.has(name), name);
      const live = seen((r) => (r.state.name === "COMPLETED" ? undefined : `${r.state.name}/${r.state.stage?.name ?? ""}`));
      assert.ok(live.size >= 3, `non-terminal states seen: ${[...live].join(",")}`);
      assert.deepEqual(
        seen((r) => r.trigger.name),
        new Set(["PUSH", "MANUAL", "SCHEDULE"]),
      );
      assert.ok(all.some((r) => r.trigger.name === "SCHEDULE" && r.creator === undefined));
      assert.ok(all.some((r) => r.target.type === "pipeline_pullrequest_target"));
      assert.ok(all.some((r) => r.target.selector.type === "custom" && r.target.selector.pattern === "deploy-to-production"));
      assert.ok(all.some((r) => r.target.selector.type === "default"));
      assert.ok(all.some((r) => r.target.type === "pipeline_ref_target" && r.target.ref_type === "tag"));
    });
  });
});

describe("simulator: GET /repositories/{workspace}", () => {
  it("pages through next links (absolute, other params kept, none on the last page)", async () => {
    await withSim({ repositories: 23 }, async (sim) => {
      let url: string | undefined = `${sim.url}/repositories/acme?sort=slug&role=member`;
      const pages: Page<RepositoryJson>[] = [];
      while (url) {
        const page: Page<RepositoryJson> = await getJson<Page<RepositoryJson>>(sim, url);
        pages.push(page);
        if (page.next) {
          assert.ok(page.next.startsWith(`${sim.url}/repositories/acme?`), page.next);
          assert.match(page.next, /sort=slug/);
          assert.match(page.next, /role=member/);
        }
        url = page.next;
      }
      assert.deepEqual(
        pages.map((p) => [p.page, p.pagelen, p.size, p.values.length]),
        [
          [1, 10, 23, 10],
          [2, 10, 23, 10],
          [3, 10, 23, 3],
        ],
      );
      const slugs = pages.flatMap((p) => p.values.map((r) => r.slug));
      assert.deepEqual(
        slugs,
        sim
          .repositories()
          .map((r) => r.slug)
          .sort(),
      );
      const big = await getJson<Page<RepositoryJson>>(sim, "/repositories/acme?pagelen=500");
      assert.equal(big.pagelen, 100);
      assert.equal(big.values.length, 23);
      assert.equal(big.next, undefined);
      const plain = await getJson<Page<RepositoryJson>>(sim, "/repositories/acme");
      assert.deepEqual(
        plain.values.map((r) => r.slug),
        sim
          .repositories()
          .slice(0, 10)
          .map((r) => r.slug),
        "default order: creation",
      );
    });
  });

  it("filters with BBQL updated_on and sorts on one field", async () => {
    await withSim({ repositories: 30 }, async (sim) => {
      const repos = sim.repositories();
      const cut = "2025-05-01T00:00:00+00:00";
      const expected = repos.filter((r) => ms(r.updated_on) > ms(cut)).map((r) => r.slug);
      assert.ok(expected.length > 0 && expected.length < repos.length);
      const q = encodeURIComponent(`updated_on > ${cut}`);
      const res = await getJson<Page<RepositoryJson>>(sim, `/repositories/acme?pagelen=100&q=${q}`);
      assert.deepEqual(
        res.values.map((r) => r.slug),
        expected,
      );
      assert.equal(res.size, expected.length);

      const ge = encodeURIComponent(`updated_on >= 2025-05-01T00:00:00Z AND updated_on < 2030-01-01`);
      const sorted = await getJson<Page<RepositoryJson>>(sim, `/repositories/acme?pagelen=100&sort=-updated_on&q=${ge}`);
      assert.deepEqual(new Set(sorted.values.map((r) => r.slug)), new Set(expected));
      const times = sorted.values.map((r) => ms(r.updated_on));
      assert.deepEqual(
        times,
        [...times].sort((x, y) => y - x),
      );

      const inList = await getJson<Page<RepositoryJson>>(
        sim,
        `/repositories/acme?q=${encodeURIComponent('slug IN ("web-app","service-03")')}`,
      );
      assert.deepEqual(
        inList.values.map((r) => r.slug),
        ["web-app", "service-03"],
      );

      // A raw "+" decodes to a space: "2025-05-01T00:00:00 00:00" is a bad query (§2.3, quirk 8).
      const raw = await get(sim, "/repositories/acme?q=updated_on>2025-05-01T00:00:00+00:00");
      assert.equal(raw.status, 400);
      assert.equal((JSON.parse(raw.text) as { type: string }).type, "error");
      for (const bad of ["updated_on >", "updated_on > yesterday", '(slug = "x"', "nosuchfield = 1"]) {
        const r = await get(sim, `/repositories/acme?q=${encodeURIComponent(bad)}`);
        assert.equal(r.status, 400, bad);
      }
      assert.equal((await get(sim, "/repositories/acme?sort=updated_on,slug")).status, 400);
    });
  });

  it("404s an unknown workspace, repository and path", async () => {
    await withSim({}, async (sim) => {
      const ws = await get(sim, "/repositories/acme-typo");
      assert.equal(ws.status, 404);
      assert.deepEqual(JSON.parse(ws.text), { type: "error", error: { message: "No workspace with identifier 'acme-typo'." } });
      assert.equal((await get(sim, "/repositories/acme/nope")).status, 404);
      const path = await get(sim, "/repositories/acme/web-app/nothing/here");
      assert.equal(path.status, 404);
      const body = JSON.parse(path.text) as { type: string; error: { message: string; detail: string } };
      assert.equal(body.error.message, "Resource not found");
      assert.match(body.error.detail, /^There is no API hosted at this URL\./);
      assert.equal((await get(sim, "/repositories/acme/web-app")).status, 200);
    });
  });
});

describe("simulator: GET .../pipelines", () => {
  it("defaults to oldest first; sort=-created_on gives newest first; q is ignored", async () => {
    await withSim({}, async (sim) => {
      const all = sim.runs("web-app");
      const def = await getJson<Page<PipelineJson>>(sim, "/repositories/acme/web-app/pipelines");
      assert.deepEqual(
        def.values.map((r) => r.uuid),
        all.slice(0, 10).map((r) => r.uuid),
      );
      const desc = await getJson<Page<PipelineJson>>(sim, "/repositories/acme/web-app/pipelines/?sort=-created_on&pagelen=5");
      assert.deepEqual(
        desc.values.map((r) => r.uuid),
        all
          .slice(-5)
          .reverse()
          .map((r) => r.uuid),
      );
      const asc = await getJson<Page<PipelineJson>>(sim, "/repositories/acme/web-app/pipelines?sort=created_on&pagelen=5");
      assert.deepEqual(
        asc.values.map((r) => r.uuid),
        all.slice(0, 5).map((r) => r.uuid),
      );
      const q = encodeURIComponent("created_on > 2099-01-01T00:00:00+00:00");
      const withQ = await getJson<Page<PipelineJson>>(sim, `/repositories/acme/web-app/pipelines?q=${q}&pagelen=5`);
      assert.deepEqual(
        withQ.values.map((r) => r.uuid),
        all.slice(0, 5).map((r) => r.uuid),
      );
      assert.equal(withQ.size, all.length);
      const byRunDate = await get(sim, "/repositories/acme/web-app/pipelines?sort=-run_creation_date");
      assert.equal(byRunDate.status, 200);
    });
  });

  it("does the size/page math and its next drops sort and fields", async () => {
    await withSim({ runsPerRepository: 25 }, async (sim) => {
      const base = "/repositories/acme/web-app/pipelines";
      const p1 = await getJson<Page<PipelineJson>>(sim, `${base}?sort=-created_on&fields=values.uuid&pagelen=10`);
      assert.deepEqual([p1.page, p1.pagelen, p1.size, p1.values.length], [1, 10, 25, 10]);
      assert.equal(p1.next, `${sim.url}${base}?page=2&pagelen=10`);
      // Following next verbatim silently reverts to oldest-first.
      const p2 = await getJson<Page<PipelineJson>>(sim, p1.next ?? "");
      assert.deepEqual(
        p2.values.map((r) => r.build_number),
        sim
          .runs("web-app")
          .slice(10, 20)
          .map((r) => r.build_number),
      );
      const p3 = await getJson<Page<PipelineJson>>(sim, `${base}?page=3&pagelen=10`);
      assert.deepEqual([p3.page, p3.size, p3.values.length, p3.next], [3, 25, 5, undefined]);
      const past = await getJson<Page<PipelineJson>>(sim, `${base}?page=9&pagelen=10`);
      assert.deepEqual(past.values, []);
      assert.equal(past.next, undefined);
      const clamp = await getJson<Page<PipelineJson>>(sim, `${base}?pagelen=1000`);
      assert.equal(clamp.pagelen, 100);
      assert.equal(clamp.values.length, 25);
      const empty = sim.addRepository({ slug: "empty-repo" });
      const none = await get(sim, `/repositories/acme/${empty.slug}/pipelines/?pagelen=100`);
      assert.equal(none.status, 200);
      assert.deepEqual(JSON.parse(none.text), { page: 1, values: [], size: 0, pagelen: 0 });
    });
  });

  it("rejects an unsupported sort with the pipelines-service 400", async () => {
    await withSim({}, async (sim) => {
      const res = await get(sim, "/repositories/acme/web-app/pipelines?sort=-completed_on");
      assert.equal(res.status, 400);
      assert.deepEqual(JSON.parse(res.text), {
        error: {
          message: "Bad request",
          data: { arguments: {}, key: "rest-service.rest-service.invalid-sort-attribute" },
          detail: "Invalid sort attribute provided 'completed_on'",
        },
      });
    });
  });

  it("gets one pipeline by its URL-encoded braced uuid", async () => {
    await withSim({}, async (sim) => {
      const run = sim.runs("api-gateway")[3];
      assert.ok(run);
      const one = await getJson<PipelineJson>(sim, `/repositories/acme/api-gateway/pipelines/${encodeURIComponent(run.uuid)}`);
      assert.deepEqual(one, run);
      const missing = await get(
        sim,
        `/repositories/acme/api-gateway/pipelines/${encodeURIComponent("{00000000-0000-4000-8000-000000000000}")}`,
      );
      assert.equal(missing.status, 404);
      assert.ok(JSON.parse(missing.text) as unknown);
    });
  });

  it("answers 404 for disabled pipelines and deleted repositories", async () => {
    await withSim({}, async (sim) => {
      sim.disablePipelines("web-app");
      const disabled = await get(sim, "/repositories/acme/web-app/pipelines");
      assert.equal(disabled.status, 404);
      assert.equal((JSON.parse(disabled.text) as { type: string }).type, "error");
      sim.deleteRepository("api-gateway");
      assert.equal((await get(sim, "/repositories/acme/api-gateway")).status, 404);
      assert.equal((await get(sim, "/repositories/acme/api-gateway/pipelines")).status, 404);
      const list = await getJson<Page<RepositoryJson>>(sim, "/repositories/acme");
      assert.deepEqual(
        list.values.map((r) => r.slug),
        ["web-app", "mobile-app"],
      );
    });
  });
});

describe("simulator: authentication", () => {
  it("accepts both credential kinds", async () => {
    await withSim({}, async (sim) => {
      for (const auth of [BEARER, BASIC]) {
        assert.equal((await get(sim, "/repositories/acme", auth)).status, 200);
        assert.equal((await get(sim, "/repositories/acme/web-app/pipelines", auth)).status, 200);
      }
      const bearer = await get(sim, "/repositories/acme", BEARER);
      assert.equal(bearer.headers.get("x-ratelimit-nearlimit"), "false");
      const basic = await get(sim, "/repositories/acme", BASIC);
      assert.equal(basic.headers.get("x-ratelimit-limit"), null);
    });
  });

  it("sends the real 401 bodies", async () => {
    await withSim({}, async (sim) => {
      const badBearer = await get(sim, "/repositories/acme", "Bearer wrong");
      assert.equal(badBearer.status, 401);
      assert.deepEqual(JSON.parse(badBearer.text), {
        type: "error",
        error: { message: "Token is invalid, expired, or not supported for this endpoint." },
      });
      const badBasic = await get(sim, "/repositories/acme", `Basic ${Buffer.from("dev@example.com:nope").toString("base64")}`);
      assert.equal(badBasic.status, 401);
      assert.match(badBasic.headers.get("content-type") ?? "", /^text\/plain/);
      assert.match(badBasic.text, /^Login failed due to incorrect login credentials or method\.\n/);
      assert.throws(() => JSON.parse(badBasic.text) as unknown);
      const none = await get(sim, "/repositories/acme", null);
      assert.equal(none.status, 401);
      assert.match(none.headers.get("content-type") ?? "", /^text\/plain/);
    });
  });

  it("403s a missing scope with an object detail", async () => {
    await withSim(
      {
        credentials: [
          { kind: "bearer", token: "repo-only", scopes: ["repository"] },
          { kind: "basic", email: "a@example.com", apiToken: "t", scopes: ["read:pipeline:bitbucket"] },
        ],
      },
      async (sim) => {
        assert.equal((await get(sim, "/repositories/acme", "Bearer repo-only")).status, 200);
        const res = await get(sim, "/repositories/acme/web-app/pipelines", "Bearer repo-only");
        assert.equal(res.status, 403);
        assert.deepEqual(JSON.parse(res.text), {
          type: "error",
          error: {
            message: "Your credentials lack one or more required privilege scopes.",
            detail: { required: ["pipeline"], granted: ["repository"] },
          },
        });
        const basic = await get(sim, "/repositories/acme", `Basic ${Buffer.from("a@example.com:t").toString("base64")}`);
        assert.equal(basic.status, 403);
        const detail = (JSON.parse(basic.text) as { error: { detail: unknown } }).error.detail;
        assert.deepEqual(detail, { required: ["read:repository:bitbucket"], granted: ["read:pipeline:bitbucket"] });
      },
    );
  });
});

describe("simulator: faults", () => {
  it("429 is plain text without Retry-After, unless asked", async () => {
    await withSim({}, async (sim) => {
      sim.inject({ kind: "429", match: /\/pipelines/ });
      assert.equal((await get(sim, "/repositories/acme")).status, 200, "match limits the fault");
      const res = await get(sim, "/repositories/acme/web-app/pipelines");
      assert.equal(res.status, 429);
      assert.match(res.headers.get("content-type") ?? "", /^text\/plain/);
      assert.equal(res.text, "Rate limit for this resource has been exceeded");
      assert.equal(res.headers.get("retry-after"), null);
      assert.equal((await get(sim, "/repositories/acme/web-app/pipelines")).status, 200, "consumed after one use");
      sim.inject({ kind: "429", retryAfter: 3 });
      assert.equal((await get(sim, "/repositories/acme")).headers.get("retry-after"), "3");
    });
  });

  it("honours times and skip, and clearFaults", async () => {
    await withSim({}, async (sim) => {
      sim.inject({ kind: "503", times: 2, skip: 1 });
      const statuses: number[] = [];
      for (let i = 0; i < 4; i++) statuses.push((await get(sim, "/repositories/acme")).status);
      assert.deepEqual(statuses, [200, 503, 503, 200]);
      sim.inject({ kind: "500", times: 5 });
      sim.clearFaults();
      assert.equal((await get(sim, "/repositories/acme")).status, 200);
      sim.inject({ kind: "502" });
      const bad = await get(sim, "/repositories/acme");
      assert.equal(bad.status, 502);
    });
  });

  it("truncate and non-json give 200s that do not parse", async () => {
    await withSim({}, async (sim) => {
      sim.inject({ kind: "truncate" });
      const cut = await get(sim, "/repositories/acme");
      assert.equal(cut.status, 200);
      assert.match(cut.headers.get("content-type") ?? "", /^application\/json/);
      assert.ok(cut.text.length > 10);
      assert.throws(() => JSON.parse(cut.text) as unknown, SyntaxError);
      sim.inject({ kind: "non-json" });
      const html = await get(sim, "/repositories/acme");
      assert.equal(html.status, 200);
      assert.match(html.headers.get("content-type") ?? "", /^text\/html/);
      assert.equal(html.text, "<html>Bitbucket is down for maintenance</html>");
    });
  });

  it("reset drops the connection mid-body; redirect-offsite points at another origin", async () => {
    await withSim({}, async (sim) => {
      sim.inject({ kind: "reset" });
      await assert.rejects(get(sim, "/repositories/acme"));
      sim.inject({ kind: "redirect-offsite" });
      const res = await fetch(`${sim.url}/repositories/acme?page=2`, { headers: { authorization: BEARER }, redirect: "manual" });
      assert.equal(res.status, 302);
      const location = res.headers.get("location") ?? "";
      assert.ok(location.startsWith("http://127.0.0.2:"), location);
      assert.ok(location.endsWith("/2.0/repositories/acme?page=2"), location);
      await res.arrayBuffer();
      assert.deepEqual(
        sim.requests.map((r) => r.status),
        [0, 302],
      );
    });
  });

  it("slow delays; hang never answers and close() still returns promptly", async () => {
    const sim = await startSimulator({ now: NOW });
    sim.inject({ kind: "slow", delayMs: 150 });
    const t0 = Date.now();
    assert.equal((await get(sim, "/repositories/acme")).status, 200);
    assert.ok(Date.now() - t0 >= 140);
    sim.inject({ kind: "hang" });
    const pending = get(sim, "/repositories/acme").then(
      () => "answered",
      () => "failed",
    );
    await new Promise((r) => setTimeout(r, 100));
    // an idle keep-alive connection exists too (from the first request)
    const t1 = Date.now();
    await sim.close();
    assert.ok(Date.now() - t1 < 1000, "close is prompt");
    assert.equal(await pending, "failed");
    assert.equal(sim.requests[1]?.status, 0);
  });
});

describe("simulator: transport options", () => {
  it("adds latencyMs to every response and can flag NearLimit for bearer requests", async () => {
    await withSim({ latencyMs: 120 }, async (sim) => {
      const t0 = Date.now();
      assert.equal((await get(sim, "/repositories/acme/nope")).status, 404);
      assert.ok(Date.now() - t0 >= 110);
      sim.inject({ kind: "slow", delayMs: 0, nearLimit: true });
      const res = await get(sim, "/repositories/acme");
      assert.equal(res.status, 200);
      assert.equal(res.headers.get("x-ratelimit-nearlimit"), "true");
    });
  });

  it("accepts raw braces in a pipeline uuid path", async () => {
    await withSim({}, async (sim) => {
      const run = sim.runs("web-app")[0];
      assert.ok(run);
      const { request } = await import("node:http");
      const status = await new Promise<number>((resolve, reject) => {
        // An options object (not a WHATWG URL, which would percent-encode the braces) sends the path verbatim.
        const path = `/2.0/repositories/acme/web-app/pipelines/${run.uuid}`;
        const req = request(
          { host: "127.0.0.1", port: new URL(sim.origin).port, path, headers: { authorization: BEARER } },
          (res) => {
            res.resume();
            resolve(res.statusCode ?? 0);
          },
        );
        req.on("error", reject);
        req.end();
      });
      assert.equal(status, 200);
      assert.equal(sim.requests[0]?.path, `/2.0/repositories/acme/web-app/pipelines/${run.uuid}`);
    });
  });
});

describe("simulator: mutations", () => {
  it("addRun, finishRun and rerun follow the real semantics", async () => {
    await withSim({}, async (sim) => {
      const before = sim.runs("web-app");
      const maxBuild = Math.max(...before.map((r) => r.build_number));
      sim.clock.advance(60_000);
      const added = sim.addRun("web-app");
      assert.equal(added.build_number, maxBuild + 1);
      assert.equal(added.run_number, 1);
      assert.equal(added.state.name, "PENDING");
      assert.equal(added.completed_on, undefined);
      assert.ok(Math.abs(ms(added.created_on) - (NOW.getTime() + 60_000)) < 1000);
      const list = await getJson<Page<PipelineJson>>(sim, "/repositories/acme/web-app/pipelines?sort=-created_on&pagelen=1");
      assert.equal(list.values[0]?.uuid, added.uuid);

      sim.clock.advance(90_000);
      const done = sim.finishRun("web-app", added.uuid, "FAILED");
      assert.equal(done.state.name, "COMPLETED");
      assert.equal(done.state.result?.name, "FAILED");
      assert.ok(Math.abs(ms(done.completed_on ?? "") - sim.clock.now().getTime()) < 1000);
      assert.ok(done.duration_in_seconds >= 89 && done.duration_in_seconds <= 91, String(done.duration_in_seconds));
      assert.equal(done.created_on, added.created_on);

      sim.clock.advance(30_000);
      const again = sim.rerun("web-app", added.uuid);
      assert.deepEqual(
        [again.uuid, again.created_on, again.build_number, again.run_number],
        [added.uuid, added.created_on, added.build_number, 2],
      );
      assert.equal(again.state.name, "IN_PROGRESS");
      assert.equal(again.state.stage?.name, "RUNNING");
      assert.equal(again.completed_on, undefined);
      const fetched = await getJson<PipelineJson>(sim, `/repositories/acme/web-app/pipelines/${encodeURIComponent(added.uuid)}`);
      assert.equal(fetched.run_number, 2);
      assert.equal(sim.runs("web-app").length, before.length + 1, "a rerun is not a new pipeline");

      const old = sim.addRun("web-app", { state: "COMPLETED", result: "ERROR", createdOn: new Date(NOW.getTime() - 86_400_000) });
      assert.equal(old.state.result?.error?.type, "pipeline_error");
      assert.ok(old.completed_on !== undefined);
      const runs = sim.runs("web-app");
      const times = runs.map((r) => ms(r.created_on));
      assert.deepEqual(
        times,
        [...times].sort((a, b) => a - b),
        "runs() stays oldest first",
      );
      const halted = sim.addRun("mobile-app", { state: "HALTED" });
      assert.deepEqual(halted.state.stage, { type: "pipeline_state_in_progress_halted", name: "HALTED" });
    });
  });

  it("touchRepository bumps updated_on; addRepository appends", async () => {
    await withSim({}, async (sim) => {
      sim.clock.advance(3_600_000);
      sim.touchRepository("mobile-app");
      const repo = sim.repositories().find((r) => r.slug === "mobile-app");
      assert.equal(ms(repo?.updated_on ?? ""), NOW.getTime() + 3_600_000);
      const q = encodeURIComponent(`updated_on >= ${NOW.toISOString()}`);
      const changed = await getJson<Page<RepositoryJson>>(sim, `/repositories/acme?q=${q}`);
      assert.deepEqual(
        changed.values.map((r) => r.slug),
        ["mobile-app"],
      );
      const added = sim.addRepository();
      assert.equal(added.slug, "data-pipeline");
      assert.deepEqual(
        sim.repositories().map((r) => r.slug),
        ["web-app", "api-gateway", "mobile-app", "data-pipeline"],
      );
      assert.deepEqual(sim.runs("data-pipeline"), []);
    });
  });
});

describe("simulator: request log", () => {
  it("records every request in order with status and auth kind", async () => {
    await withSim({}, async (sim) => {
      await get(sim, "/repositories/acme?pagelen=5&q=slug%20%3D%20%22web-app%22", BASIC);
      sim.inject({ kind: "429" });
      await get(sim, "/repositories/acme/web-app/pipelines/?sort=-created_on", BEARER);
      await get(sim, "/repositories/acme", null);
      await get(sim, `/repositories/acme/web-app/pipelines/${encodeURIComponent("{x}")}`);
      assert.equal(sim.requests.length, 4);
      const [a, b, c, d] = sim.requests;
      assert.deepEqual(
        { ...a, at: 0 },
        {
          method: "GET",
          path: "/2.0/repositories/acme",
          query: { pagelen: ["5"], q: ['slug = "web-app"'] },
          status: 200,
          auth: "basic",
          at: 0,
        },
      );
      assert.deepEqual(
        [b?.path, b?.query, b?.status, b?.auth],
        ["/2.0/repositories/acme/web-app/pipelines/", { sort: ["-created_on"] }, 429, "bearer"],
      );
      assert.deepEqual([c?.status, c?.auth], [401, "none"]);
      assert.deepEqual([d?.path, d?.status], ["/2.0/repositories/acme/web-app/pipelines/%7Bx%7D", 404]);
      assert.ok((a?.at ?? 0) <= (d?.at ?? 0));
    });
  });
});

describe("simulator: scale and CLI", () => {
  it("starts 1,000 repositories x 100 runs quickly and serves pages fast", async () => {
    const t0 = Date.now();
    await withSim({ repositories: 1000, runsPerRepository: 100 }, async (sim) => {
      assert.ok(Date.now() - t0 < 3000, `start took ${Date.now() - t0} ms`);
      const t1 = Date.now();
      const page = await getJson<Page<RepositoryJson>>(sim, "/repositories/acme?pagelen=100&page=10&sort=-updated_on");
      assert.equal(page.values.length, 100);
      assert.equal(page.size, 1000);
      const runs = await getJson<Page<PipelineJson>>(
        sim,
        "/repositories/acme/service-900/pipelines?pagelen=100&sort=-created_on",
      );
      assert.equal(runs.size, 100);
      assert.ok(Date.now() - t1 < 2000, `pages took ${Date.now() - t1} ms`);
    });
  });

  it("cli.ts prints the api_url and serves until killed", async () => {
    const child = spawn(
      process.execPath,
      [
        "--import",
        "tsx",
        fileURLToPath(new URL("../simulator/cli.ts", import.meta.url)),
        "--port",
        "0",
        "--repositories",
        "2",
        "--runs",
        "3",
        "--seed",
        "9",
      ],
      {
        stdio: ["ignore", "ignore", "pipe"],
      },
    );
    try {
      const line = await new Promise<string>((resolve, reject) => {
        let buf = "";
        child.stderr.on("data", (chunk: Buffer) => {
          buf += chunk.toString("utf8");
          if (buf.includes("\n")) resolve(buf);
        });
        child.on("exit", (code) => reject(new Error(`cli exited ${code}: ${buf}`)));
      });
      const url = /api_url=(\S+)/.exec(line)?.[1];
      assert.ok(url, line);
      const res = await fetch(`${url}/repositories/acme`, { headers: { authorization: BEARER } });
      const body = (await res.json()) as Page<RepositoryJson>;
      assert.equal(body.size, 2);
    } finally {
      const exited = new Promise((r) => child.once("exit", r));
      child.kill("SIGTERM");
      await exited;
    }
  });
});
