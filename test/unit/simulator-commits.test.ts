// The simulator's commits endpoint must list a real commit graph the way GET .../commits/{revision}?exclude= does:
// `git log <revision> ^<exclude>` newest first, iterator pagination, repository scope, 404 for unknown commits.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";

import {
  type DeploymentJson,
  type GitCommitJson,
  type PipelineJson,
  type Simulator,
  startSimulator,
} from "../simulator/index.js";

const NOW = new Date("2025-06-01T12:00:00Z");
const BEARER = "Bearer sim-token";
const HASH = /^[0-9a-f]{40}$/;
const DATE = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00$/;

interface CommitPage {
  pagelen: number;
  values: GitCommitJson[];
  next?: string;
  size?: number;
  page?: number;
}

async function get(sim: Simulator, pathOrUrl: string, authorization = BEARER): Promise<{ status: number; text: string }> {
  const url = pathOrUrl.startsWith("http") ? pathOrUrl : `${sim.url}${pathOrUrl}`;
  const res = await fetch(url, { headers: { authorization } });
  return { status: res.status, text: await res.text() };
}

async function page(sim: Simulator, pathOrUrl: string): Promise<CommitPage> {
  const res = await get(sim, pathOrUrl);
  assert.equal(res.status, 200, `GET ${pathOrUrl} -> ${res.status} ${res.text}`);
  return JSON.parse(res.text) as CommitPage;
}

/** Follows `next` verbatim; returns every page. */
async function walk(sim: Simulator, first: string): Promise<CommitPage[]> {
  const pages: CommitPage[] = [];
  for (let url: string | undefined = first; url !== undefined; url = pages.at(-1)?.next) {
    pages.push(await page(sim, url));
    assert.ok(pages.length < 1000, "runaway paging");
  }
  return pages;
}

async function listed(sim: Simulator, path: string): Promise<GitCommitJson[]> {
  return (await walk(sim, path)).flatMap((p) => p.values);
}

const commitsPath = (slug: string, revision = ""): string => `/repositories/acme/${slug}/commits/${revision}`;
const hashes = (commits: readonly GitCommitJson[]): string[] => commits.map((c) => c.hash);

/** The test's own `git log A ^B` over a parent map, to check the simulator's set difference against. */
function reachable(
  parents: ReadonlyMap<string, readonly string[]>,
  from: string,
  stop: ReadonlySet<string> = new Set(),
): Set<string> {
  const seen = new Set<string>();
  const todo = [from];
  for (let h = todo.pop(); h !== undefined; h = todo.pop()) {
    if (seen.has(h) || stop.has(h)) continue;
    seen.add(h);
    todo.push(...(parents.get(h) ?? []));
  }
  return seen;
}

function successful(rows: DeploymentJson[], environmentUuid: string): { hash: string; completed: string }[] {
  return rows
    .flatMap((d) =>
      d.environment.uuid === environmentUuid && d.state.name === "COMPLETED" && d.state.status.name === "SUCCESSFUL"
        ? [{ hash: d.release.commit.hash, completed: d.state.completed_on }]
        : [],
    )
    .sort((a, b) => Date.parse(a.completed) - Date.parse(b.completed));
}

describe("simulator: commits", () => {
  let sim: Simulator;
  /** Every commit of web-app (listed through /commits/) and its parents. */
  let all: GitCommitJson[];
  let parents: Map<string, string[]>;

  before(async () => {
    sim = await startSimulator({ now: NOW, repositories: 4, runsPerRepository: 30, seed: 3 });
    all = await listed(sim, `${commitsPath("web-app")}?pagelen=100`);
    parents = new Map(all.map((c) => [c.hash, c.parents.map((p) => p.hash)]));
  });
  after(() => sim.close());

  it("serves commits shaped as the real API writes them, authors with and without an account", () => {
    const [first] = all;
    assert.ok(first);
    assert.deepEqual(Object.keys(first), [
      "type",
      "hash",
      "date",
      "author",
      "message",
      "summary",
      "links",
      "parents",
      "repository",
    ]);
    for (const c of all) {
      assert.equal(c.type, "commit");
      assert.match(c.hash, HASH);
      assert.match(c.date, DATE);
      assert.equal(c.author.type, "author");
      assert.match(c.author.raw, /^.+ <[^>]+>$/);
      assert.equal(c.summary.raw, c.message);
      assert.equal(c.links.html.href, `https://bitbucket.org/acme/web-app/commits/${c.hash}`);
      assert.equal(c.repository.full_name, "acme/web-app");
      for (const p of c.parents) assert.deepEqual(Object.keys(p), ["hash", "links", "type"]);
    }
    const withUser = all.filter((c) => c.author.user !== undefined);
    assert.ok(withUser.length > 0 && withUser.length < all.length, `${withUser.length} of ${all.length} with a user`);
    for (const c of withUser) {
      assert.equal(c.author.user?.type, "user");
      assert.match(c.author.user?.account_id ?? "", /^557058:/);
    }
    const merges = all.filter((c) => c.parents.length === 2);
    assert.ok(merges.length >= 3, `${merges.length} merges`);
    assert.ok(merges.every((m) => /^Merge/.test(m.message)));
    assert.equal(all.filter((c) => c.parents.length === 0).length, 1, "one root");
  });

  it("lists newest first: dates never increase and every commit comes before its parents", () => {
    const position = new Map(all.map((c, i) => [c.hash, i]));
    for (const [i, c] of all.entries()) {
      if (i > 0) assert.ok(Date.parse(c.date) <= Date.parse(all[i - 1]?.date ?? ""), `${c.hash} is newer than the one before it`);
      for (const p of c.parents) assert.ok((position.get(p.hash) ?? -1) > i, `parent ${p.hash} listed after ${c.hash}`);
    }
  });

  it("builds every run's commit: in the graph, dated before the run, on the main branch for main-branch runs", async () => {
    for (const repo of sim.repositories()) {
      const main = new Set(hashes(await listed(sim, `${commitsPath(repo.slug, repo.mainbranch.name)}?pagelen=100`)));
      const runs: PipelineJson[] = sim.runs(repo.slug);
      for (const run of runs) {
        const hash = run.target.commit.hash;
        const [head] = (await page(sim, `${commitsPath(repo.slug, hash)}?pagelen=1`)).values;
        assert.equal(head?.hash, hash, `#${run.build_number}`);
        assert.ok(Date.parse(head.date) < Date.parse(run.created_on), `#${run.build_number}: ${head.date} >= ${run.created_on}`);
        const t = run.target;
        if (t.type === "pipeline_ref_target" && t.ref_name === repo.mainbranch.name)
          assert.ok(main.has(hash), `#${run.build_number}`);
        if (t.type === "pipeline_pullrequest_target") assert.ok(t.destination_commit.hash.length === 12);
      }
      for (const d of sim.deployments(repo.slug)) {
        assert.ok(runs.some((r) => r.target.commit.hash === d.release.commit.hash));
      }
    }
  });

  it("honours exclude across merges: a merged branch's commits go with the merge", async () => {
    // A merge M on the main line whose second parent F (the feature branch) is not on M's first-parent side.
    const merge = all.find((c) => {
      const [mainSide, feature] = c.parents;
      return mainSide && feature && !reachable(parents, mainSide.hash).has(feature.hash);
    });
    assert.ok(merge, "a merge of a branch with commits of its own");
    const [mainSide, feature] = merge.parents;
    assert.ok(mainSide && feature);
    // A descendant of M on the main branch.
    const later = all.find((c) => c.hash !== merge.hash && reachable(parents, c.hash).has(merge.hash));
    assert.ok(later, "a commit after the merge");

    const sinceMainSide = hashes(await listed(sim, `${commitsPath("web-app", later.hash)}?exclude=${mainSide.hash}`));
    assert.ok(sinceMainSide.includes(feature.hash), "the feature commit came after the main-side parent");
    assert.ok(sinceMainSide.includes(merge.hash));

    const sinceMerge = hashes(await listed(sim, `${commitsPath("web-app", later.hash)}?exclude=${merge.hash}`));
    assert.ok(!sinceMerge.includes(feature.hash), "reachable from the excluded merge through its second parent");
    assert.ok(!sinceMerge.includes(merge.hash) && sinceMerge.includes(later.hash));
    assert.deepEqual(new Set(sinceMerge), reachable(parents, later.hash, reachable(parents, merge.hash)));

    // Excluding the feature commit also excludes what it was branched from, though the main line reaches that too.
    const sinceFeature = hashes(await listed(sim, `${commitsPath("web-app", later.hash)}?exclude=${feature.hash}`));
    const root = all.at(-1)?.hash ?? "";
    assert.ok(!sinceFeature.includes(root), "the root is reachable from the feature commit");
    assert.deepEqual(new Set(sinceFeature), reachable(parents, later.hash, reachable(parents, feature.hash)));
  });

  it("gives successive deployments to an environment non-trivial commit sets, merges included", async () => {
    let checked = 0;
    let withMerges = 0;
    for (const repo of sim.repositories()) {
      const rows = sim.deployments(repo.slug);
      const graph = await listed(sim, `${commitsPath(repo.slug)}?pagelen=100`);
      const repoParents = new Map(graph.map((c) => [c.hash, c.parents.map((p) => p.hash)]));
      for (const env of sim.environments(repo.slug)) {
        const deployed = successful(rows, env.uuid);
        for (let i = 1; i < deployed.length; i++) {
          const [prev, cur] = [deployed[i - 1]?.hash ?? "", deployed[i]?.hash ?? ""];
          const got = await listed(sim, `${commitsPath(repo.slug, cur)}?exclude=${prev}&pagelen=100`);
          assert.deepEqual(new Set(hashes(got)), reachable(repoParents, cur, reachable(repoParents, prev)));
          assert.deepEqual(got, sim.commitsBetween(repo.slug, cur, prev), "the helper agrees with the endpoint");
          checked += 1;
          if (got.length >= 3 && got.some((c) => c.parents.length === 2)) withMerges += 1;
        }
      }
    }
    assert.ok(checked >= 10, `${checked} pairs`);
    assert.ok(withMerges >= 3, `${withMerges} of ${checked} pairs have 3+ commits and a merge`);
  });

  it("pages with an opaque iterator token: default 30, at most 100, every commit once, exclude kept", async () => {
    const path = commitsPath("web-app", "main");
    const everything = sim.commitsBetween("web-app", "main");
    assert.ok(everything.length > 30, `${everything.length} commits on main`);
    const first = await page(sim, path);
    assert.equal(first.values.length, 30);
    assert.equal(first.pagelen, 30);
    assert.deepEqual(Object.keys(first), ["pagelen", "values", "next"], "no size, no page");
    const token = new URL(first.next ?? "").searchParams.get("page") ?? "";
    assert.ok(token !== "" && !/^\d+$/.test(token), `page token ${token}`);

    const pages = await walk(sim, `${path}?pagelen=7`);
    assert.ok(pages.slice(0, -1).every((p) => p.values.length === 7 && p.pagelen === 7));
    assert.equal(pages.at(-1)?.next, undefined);
    assert.deepEqual(hashes(pages.flatMap((p) => p.values)), hashes(everything));

    assert.equal((await page(sim, `${path}?pagelen=500`)).pagelen, 100);
    const oldest = everything.at(-1)?.hash ?? "";
    const excludePages = await walk(sim, `${path}?exclude=${oldest}&pagelen=5`);
    assert.ok(excludePages.length > 1);
    assert.ok(excludePages.slice(1).every((p) => p.values.every((c) => c.hash !== oldest)));
    assert.match(excludePages[0]?.next ?? "", new RegExp(`exclude=${oldest}`));
    assert.equal(excludePages.flatMap((p) => p.values).length, everything.length - 1);
    assert.equal((await get(sim, `${path}?page=2`)).status, 400, "a page number is no token");
  });

  it("lists every branch at /commits and /commits/, serves branch names, and refuses /commits/{revision}/", async () => {
    const bare = await listed(sim, "/repositories/acme/web-app/commits?pagelen=100");
    assert.deepEqual(hashes(bare), hashes(all));
    for (const run of sim.runs("web-app")) assert.ok(parents.has(run.target.commit.hash));
    assert.deepEqual(
      hashes((await page(sim, commitsPath("web-app", "main"))).values),
      hashes(sim.commitsBetween("web-app", "main")).slice(0, 30),
    );
    const head = all.find((c) => c.hash === sim.commitsBetween("web-app", "main")[0]?.hash);
    assert.ok(head);
    const short = await page(sim, commitsPath("web-app", head.hash.slice(0, 12)));
    assert.equal(short.values[0]?.hash, head.hash);
    const slash = await get(sim, `${commitsPath("web-app", head.hash)}/`);
    assert.equal(slash.status, 404);
    assert.match(slash.text, /There is no API hosted at this URL/);
  });

  it("answers 404 Commit not found for an unknown revision or exclude", async () => {
    const unknown = "0".repeat(40);
    const known = all[0]?.hash ?? "";
    for (const path of [commitsPath("web-app", unknown), `${commitsPath("web-app", known)}?exclude=${unknown}`]) {
      const res = await get(sim, path);
      assert.equal(res.status, 404, path);
      assert.deepEqual(JSON.parse(res.text), {
        type: "error",
        error: { message: "Commit not found", data: { shas: [unknown] } },
      });
    }
    assert.equal((await get(sim, commitsPath("web-app", "no-such-branch"))).status, 404);
    assert.throws(() => sim.commitsBetween("web-app", unknown), /no commit/);
    const repo = await get(sim, commitsPath("nope", known));
    assert.equal(repo.status, 404);
    assert.match(repo.text, /Repository acme\/nope not found/);
  });

  it("counts commits requests in the request log", async () => {
    const before = sim.requests.length;
    const known = all[0]?.hash ?? "";
    await page(sim, `${commitsPath("web-app", known)}?exclude=${all[1]?.hash}&exclude=${all[2]?.hash}`);
    const entry = sim.requests.slice(before).find((r) => r.path.endsWith(`/commits/${known}`));
    assert.ok(entry);
    assert.equal(entry.status, 200);
    assert.deepEqual(entry.query.exclude, [all[1]?.hash, all[2]?.hash]);
  });

  it("gives a new run a new commit of its branch", async () => {
    sim.clock.advance(3_600_000);
    const run = sim.addRun("api-gateway", { result: "SUCCESSFUL" });
    const [head] = sim.commitsBetween("api-gateway", "main");
    assert.equal(head?.hash, run.target.commit.hash);
    assert.ok(Date.parse(head.date) < Date.parse(run.created_on));
    assert.ok(Date.parse(head.date) > NOW.getTime(), "written after the generated history");
    const fresh = sim.addRepository({ slug: "brand-new" });
    const first = sim.addRun(fresh.slug, { branch: "feature/x" });
    assert.deepEqual(hashes(sim.commitsBetween(fresh.slug, first.target.commit.hash)).at(0), first.target.commit.hash);
  });
});

describe("simulator: commits access", () => {
  it("needs the repository scope, not the pipeline scope", async () => {
    const sim = await startSimulator({
      now: NOW,
      repositories: 1,
      runsPerRepository: 3,
      credentials: [
        { kind: "bearer", token: "pipes-only", scopes: ["pipeline"] },
        { kind: "bearer", token: "repo-only", scopes: ["repository"] },
        { kind: "basic", email: "dev@example.com", apiToken: "t", scopes: ["read:repository:bitbucket"] },
      ],
    });
    try {
      const path = "/repositories/acme/web-app/commits/main";
      assert.equal((await get(sim, path, "Bearer repo-only")).status, 200);
      assert.equal((await get(sim, path, `Basic ${Buffer.from("dev@example.com:t").toString("base64")}`)).status, 200);
      const denied = await get(sim, path, "Bearer pipes-only");
      assert.equal(denied.status, 403);
      assert.match(denied.text, /privilege scopes/);
      assert.equal((await fetch(`${sim.url}${path}`)).status, 401);
    } finally {
      await sim.close();
    }
  });

  it("is a function of the seed", async () => {
    const a = await startSimulator({ now: NOW, repositories: 2, runsPerRepository: 10, seed: 9 });
    const b = await startSimulator({ now: NOW, repositories: 2, runsPerRepository: 10, seed: 9 });
    try {
      assert.deepEqual(a.commitsBetween("api-gateway", "main"), b.commitsBetween("api-gateway", "main"));
      assert.deepEqual(a.runs("api-gateway"), b.runs("api-gateway"));
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  });
});
