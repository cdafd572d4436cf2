// A repository's git history: a seeded commit graph that the runs build and the commits endpoint walks.
//
// The history is written alongside the runs, oldest first, so that every run builds a commit of its own branch dated
// before the run was created: a push to a feature branch adds a commit there, a push to the main branch lands a pull
// request (a merge commit whose second parent is the feature branch) or, now and then, develop or a direct commit;
// manual, scheduled and tag runs build the branch's head as it is. Between runs, commits accrue on feature branches
// that later merges bring in. Dates are whole seconds and strictly increase with creation, so newest-first by
// creation order is both a topological and a date order, as `git log` lists them.

import { API, commitJson, WEB } from "./fixtures.js";
import { deriveSeed, Random } from "./random.js";
import { DAY, type RepoRecord, type RunRecord, SECOND } from "./records.js";
import type { AccountJson, GitCommitJson, PipelineTargetJson, RepositoryJson, TriggerKind } from "./types.js";

export interface CommitAuthor {
  /** "Name <email>" as git recorded it. */
  raw: string;
  /** The Bitbucket account the email maps to; absent for authors without one. */
  user?: AccountJson;
}

export interface CommitNode {
  hash: string;
  /** Creation order: a commit's parents always have a lower one. */
  seq: number;
  /** Author date, whole seconds (epoch ms). */
  dateMs: number;
  parents: CommitNode[];
  author: CommitAuthor;
  message: string;
}

/** Authors without a Bitbucket account (their commits carry `raw` only), and one user committing from another address. */
const OUTSIDE_AUTHORS = [
  "Lee Contractor <lee@contractor.example>",
  "renovate[bot] <bot@renovateapp.com>",
  "Alex Kim <alex.kim@personal.example>",
] as const;

export function commitAuthors(users: readonly AccountJson[], workspace: string): CommitAuthor[] {
  return [
    ...users.map((user) => ({ raw: `${user.display_name} <${user.nickname ?? "dev"}@${workspace}.example>`, user })),
    ...OUTSIDE_AUTHORS.map((raw) => ({ raw })),
  ];
}

const SUBJECTS = [
  "Fix flaky checkout test",
  "Add retry to the payment client",
  "Bump dependencies",
  "Refactor config loading",
  "Update README",
  "Handle a missing user in the session",
  "Add cache hit metrics",
  "Tidy up logging",
  "Speed up the build",
  "Validate input on the signup form",
  "Remove dead code",
  "Fix timezone handling in reports",
] as const;

/** Plain commit messages, shared: the history of a large workspace holds millions of commits. */
const SUBJECT_LINES = SUBJECTS.map((s) => `${s}\n`);

/** Open feature branches beyond which work between runs goes on an existing one rather than a new one. */
const MAX_OPEN_FEATURES = 6;

const BASE_BRANCHES = new Set(["develop"]);

/** The branch a run's target builds (a tag builds the main branch's head). */
export function targetBranch(target: PipelineTargetJson, mainBranch: string): string {
  if (target.type === "pipeline_pullrequest_target") return target.source;
  return target.ref_type === "branch" ? target.ref_name : mainBranch;
}

export type LogResult = { ok: true; commits: CommitNode[] } | { ok: false; missing: string[] };

export class CommitGraph {
  private readonly byHash = new Map<string, CommitNode>();
  /** Live branches and their heads. */
  private readonly heads = new Map<string, CommitNode>();
  /** Commits made on a branch since it was created or last merged into the main branch. */
  private readonly ahead = new Map<string, number>();
  /** The pull request a branch's merge closes, when a pull-request run named it. */
  private readonly pullRequests = new Map<string, number>();
  /** The main-branch head last merged into develop. */
  private syncedMain: CommitNode | undefined;
  private lastMs = Number.NEGATIVE_INFINITY;
  private hiddenBranch: number;
  private readonly users: CommitAuthor[];
  private readonly outsiders: CommitAuthor[];

  constructor(
    readonly mainBranch: string,
    authors: readonly CommitAuthor[],
    private readonly nextPullRequest: () => number,
    firstTicket: number,
  ) {
    this.hiddenBranch = firstTicket;
    this.users = authors.filter((a) => a.user !== undefined);
    this.outsiders = authors.filter((a) => a.user === undefined);
  }

  get size(): number {
    return this.byHash.size;
  }

  /** Every commit, oldest first. */
  all(): CommitNode[] {
    return [...this.byHash.values()];
  }

  /** A full hash, a unique prefix of at least 7 hex digits, or a live branch name. */
  resolve(revision: string): CommitNode | undefined {
    const head = this.heads.get(revision);
    if (head) return head;
    const key = revision.toLowerCase();
    if (!/^[0-9a-f]{7,40}$/.test(key)) return undefined;
    const exact = this.byHash.get(key);
    if (exact || key.length === 40) return exact;
    let found: CommitNode | undefined;
    for (const [hash, node] of this.byHash) {
      if (!hash.startsWith(key)) continue;
      if (found) return undefined; // ambiguous
      found = node;
    }
    return found;
  }

  /**
   * What `git log <include...> ^<exclude...>` lists, newest first: commits reachable from any of `include` (every
   * branch head when it is empty) and from none of `exclude`. Unresolvable revisions are reported, not skipped.
   */
  log(include: readonly string[], exclude: readonly string[]): LogResult {
    const missing: string[] = [];
    const resolveAll = (revs: readonly string[]): CommitNode[] =>
      revs.flatMap((rev) => {
        const node = this.resolve(rev);
        if (!node) missing.push(rev);
        return node ? [node] : [];
      });
    const from = include.length > 0 ? resolveAll(include) : [...this.heads.values()];
    const stop = resolveAll(exclude);
    if (missing.length > 0) return { ok: false, missing };
    const excluded = reachable(stop, new Set());
    const listed = [...reachable(from, excluded)].filter((n) => !excluded.has(n));
    return { ok: true, commits: listed.sort((a, b) => b.seq - a.seq) };
  }

  // ---------- writing history ----------

  /**
   * The commit a new run builds, writing the history that leads to it: `beforeMs` is the run's creation time. Never
   * returns a commit dated at or after it, unless the graph has nothing older (addRun in the past of the history).
   */
  commitForRun(rng: Random, target: PipelineTargetJson, trigger: TriggerKind, beforeMs: number): CommitNode {
    this.ensureRoot(rng, beforeMs);
    const main = this.mainBranch;
    const branch = targetBranch(target, main);
    if (target.type === "pipeline_pullrequest_target") this.pullRequests.set(branch, target.pullrequest.id);
    if (target.type === "pipeline_ref_target" && target.ref_type === "tag") return this.headAt(main, beforeMs);
    if (trigger !== "push") {
      // Manual and scheduled runs build the branch as it stands; a branch not seen yet gets its first commit.
      if (!this.heads.has(branch) && branch !== main) {
        this.startBranch(rng, branch);
        this.commit(rng, branch, beforeMs, "late");
      }
      return this.headAt(branch, beforeMs);
    }
    if (branch === main) this.landOnMain(rng, beforeMs);
    else if (branch === "develop") this.landOnDevelop(rng, beforeMs);
    else {
      if (!this.heads.has(branch)) this.startBranch(rng, branch);
      this.commit(rng, branch, beforeMs, "late");
    }
    return this.headAt(branch, beforeMs);
  }

  /** Work between runs: a few commits on feature branches (new ones or unmerged ones) before `beforeMs`. */
  background(rng: Random, beforeMs: number): void {
    const count = rng.int(0, 2);
    for (let i = 0; i < count; i++) {
      const pending = this.pendingFeatures();
      const reuse = pending.length >= MAX_OPEN_FEATURES || (pending.length > 0 && rng.chance(0.6));
      const branch = reuse ? rng.pick(pending) : this.newHiddenBranch(rng);
      if (!this.commit(rng, branch, beforeMs, "spread") && this.ahead.get(branch) === 0) this.dropBranch(branch);
    }
  }

  /** The head of `branch` (the main branch when it does not exist), or its newest first-parent ancestor before `beforeMs`. */
  headAt(branch: string, beforeMs: number): CommitNode {
    const head = this.heads.get(branch) ?? this.heads.get(this.mainBranch);
    if (!head) throw new Error("simulator: empty commit graph");
    let node = head;
    while (node.dateMs >= beforeMs) {
      const parent = node.parents[0];
      if (!parent) break;
      node = parent;
    }
    return node;
  }

  /** The root commit ("Initial commit" on the main branch), once. */
  ensureRoot(rng: Random, beforeMs: number, atMs?: number): void {
    if (this.heads.has(this.mainBranch)) return;
    const dateMs = atMs ?? Math.floor((beforeMs - rng.int(60, 3600) * SECOND) / SECOND) * SECOND;
    const node = this.add(rng, [], dateMs, this.pickAuthor(rng, true), "Initial commit\n");
    this.heads.set(this.mainBranch, node);
    this.ahead.set(this.mainBranch, 0);
  }

  private landOnMain(rng: Random, beforeMs: number): void {
    const main = this.mainBranch;
    const r = rng.float();
    if (r < 0.2 && (this.ahead.get("develop") ?? 0) > 0) {
      this.merge(rng, "develop", main, beforeMs);
    } else if (r < 0.85) {
      const feature = this.featureToMerge(rng, beforeMs);
      if (feature !== undefined) this.merge(rng, feature, main, beforeMs);
    } else {
      this.commit(rng, main, beforeMs, "late");
    }
  }

  private landOnDevelop(rng: Random, beforeMs: number): void {
    if (!this.heads.has("develop")) this.startBranch(rng, "develop");
    const mainHead = this.heads.get(this.mainBranch);
    if (mainHead && mainHead !== this.syncedMain && rng.chance(0.15)) {
      if (this.merge(rng, this.mainBranch, "develop", beforeMs)) this.syncedMain = mainHead;
    }
    const feature = rng.chance(0.6) ? this.featureToMerge(rng, beforeMs) : undefined;
    if (feature !== undefined) this.merge(rng, feature, "develop", beforeMs);
    else this.commit(rng, "develop", beforeMs, "late");
  }

  /** A feature branch with unmerged commits, written now when there is none; undefined when there is no room. */
  private featureToMerge(rng: Random, beforeMs: number): string | undefined {
    const pending = this.pendingFeatures();
    if (pending.length > 0) return rng.pick(pending);
    const branch = this.newHiddenBranch(rng);
    const count = rng.int(1, 3);
    for (let i = 0; i < count; i++) this.commit(rng, branch, beforeMs, "spread");
    if (this.ahead.get(branch) !== 0) return branch;
    this.dropBranch(branch);
    return undefined;
  }

  private pendingFeatures(): string[] {
    return [...this.ahead]
      .filter(([name, n]) => n > 0 && name !== this.mainBranch && !BASE_BRANCHES.has(name) && !name.startsWith("release/"))
      .map(([name]) => name);
  }

  private newHiddenBranch(rng: Random): string {
    this.hiddenBranch += rng.int(1, 3);
    const name = `feature/PROJ-${this.hiddenBranch}`;
    this.startBranch(rng, name);
    return name;
  }

  private startBranch(rng: Random, name: string): void {
    const develop = this.heads.get("develop");
    const fromDevelop = develop !== undefined && !name.startsWith("release/") && name !== "develop" && rng.chance(0.3);
    const base = fromDevelop ? develop : this.heads.get(this.mainBranch);
    if (!base) throw new Error("simulator: no main branch to branch from");
    this.heads.set(name, base);
    this.ahead.set(name, 0);
  }

  private dropBranch(name: string): void {
    this.heads.delete(name);
    this.ahead.delete(name);
    this.pullRequests.delete(name);
  }

  /** A plain commit on `branch`; false when there is no room left before `beforeMs`. */
  private commit(rng: Random, branch: string, beforeMs: number, when: "late" | "spread"): boolean {
    const head = this.heads.get(branch);
    const dateMs = this.stamp(rng, beforeMs, when);
    if (!head || dateMs === undefined) return false;
    const line = rng.pick(SUBJECT_LINES);
    const message = rng.chance(0.4) ? `PROJ-${rng.int(100, 999)}: ${line}` : line;
    this.advance(branch, this.add(rng, [head], dateMs, this.pickAuthor(rng, false), message));
    return true;
  }

  /** Merges `source` into `into` as Bitbucket merges a pull request; false when it could not (no room, nothing to merge). */
  private merge(rng: Random, source: string, into: string, beforeMs: number): boolean {
    const target = this.heads.get(into);
    const head = this.heads.get(source);
    const dateMs = this.stamp(rng, beforeMs, "late");
    if (!target || !head || head === target || dateMs === undefined) return false;
    const merger = this.pickAuthor(rng, true);
    let message: string;
    if (into === "develop" && source === this.mainBranch) {
      message = `Merge branch '${source}' into develop\n`; // a sync from the command line
    } else {
      const pr = this.pullRequests.get(source) ?? this.nextPullRequest();
      const approver = this.pickAuthor(rng, true).user?.display_name ?? "";
      message = `Merged in ${source} (pull request #${pr})\n\n${rng.pick(SUBJECTS)}\n\nApproved-by: ${approver}\n`;
    }
    this.advance(into, this.add(rng, [target, head], dateMs, merger, message));
    if (into === this.mainBranch && source === "develop") this.ahead.set("develop", 0);
    else if (source !== this.mainBranch && source !== "develop") this.dropBranch(source); // "close source branch"
    return true;
  }

  private advance(branch: string, node: CommitNode): void {
    this.heads.set(branch, node);
    this.ahead.set(branch, (this.ahead.get(branch) ?? 0) + 1);
  }

  /**
   * A date after every commit so far and before `beforeMs`, in whole seconds: "late" within ten minutes of
   * `beforeMs` (a push right before its run), "spread" in the first half of the room left (work done earlier).
   */
  private stamp(rng: Random, beforeMs: number, when: "late" | "spread"): number | undefined {
    const lo = this.lastMs + SECOND;
    const hi = Math.ceil(beforeMs / SECOND) * SECOND - SECOND;
    if (lo > hi) return undefined;
    const seconds = (hi - lo) / SECOND;
    const offset = when === "late" ? seconds - Math.min(seconds, rng.int(5, 600)) : Math.floor(rng.float() * (seconds / 2));
    return lo + offset * SECOND;
  }

  /** Merges are made by Bitbucket users; a quarter of plain commits come from authors without an account. */
  private pickAuthor(rng: Random, withAccount: boolean): CommitAuthor {
    return withAccount || rng.chance(0.75) ? rng.pick(this.users) : rng.pick(this.outsiders);
  }

  private add(rng: Random, parents: CommitNode[], dateMs: number, author: CommitAuthor, message: string): CommitNode {
    let hash = rng.hex(40);
    while (this.byHash.has(hash)) hash = rng.hex(40);
    const node: CommitNode = { hash, seq: this.byHash.size, dateMs, parents, author, message };
    this.byHash.set(hash, node);
    this.lastMs = Math.max(this.lastMs, dateMs);
    return node;
  }
}

/** Every commit reachable from `from` without passing through `stop`. */
function reachable(from: readonly CommitNode[], stop: ReadonlySet<CommitNode>): Set<CommitNode> {
  const seen = new Set<CommitNode>();
  const todo = from.filter((n) => !stop.has(n));
  for (let node = todo.pop(); node !== undefined; node = todo.pop()) {
    if (seen.has(node)) continue;
    seen.add(node);
    for (const p of node.parents) if (!seen.has(p) && !stop.has(p)) todo.push(p);
  }
  return seen;
}

/** An empty history (a repository nobody pushed to yet): the first run's commit becomes its root. */
export function emptyHistory(repo: RepoRecord, authors: readonly CommitAuthor[]): CommitGraph {
  return new CommitGraph(repo.json.mainbranch.name, authors, () => repo.nextPullRequestId++, 100);
}

/**
 * The history behind a generated repository's runs (oldest first): it starts a few days before the first run and
 * ends with the last run's commit. Sets every run's `target.commit` (and a pull request's `destination_commit`).
 */
export function writeHistory(
  seed: number,
  repo: RepoRecord,
  runs: readonly RunRecord[],
  authors: readonly CommitAuthor[],
  startMs: number,
): CommitGraph {
  const rng = new Random(deriveSeed(seed, "commits", repo.index));
  const graph = new CommitGraph(repo.json.mainbranch.name, authors, () => repo.nextPullRequestId++, rng.int(100, 400));
  const firstMs = runs[0]?.createdMs ?? startMs;
  const createdMs = Math.ceil(repo.createdMicros / 1000 / SECOND) * SECOND;
  const rootMs = Math.max(createdMs, Math.floor((firstMs - rng.int(3, 20) * DAY) / SECOND) * SECOND);
  graph.ensureRoot(rng, firstMs, Math.min(rootMs, Math.ceil(firstMs / SECOND) * SECOND - SECOND));
  for (const run of runs) {
    graph.background(rng, run.createdMs);
    attachCommit(graph, rng, repo, run);
  }
  return graph;
}

/** Writes the commit `run` builds into `graph` and points the run's target at it. */
export function attachCommit(graph: CommitGraph, rng: Random, repo: RepoRecord, run: RunRecord): void {
  const node = graph.commitForRun(rng, run.target, run.trigger, run.createdMs);
  run.target.commit = commitJson(repo.json.full_name, node.hash);
  if (run.target.type === "pipeline_pullrequest_target") {
    run.target.destination_commit = { hash: graph.headAt(graph.mainBranch, run.createdMs).hash.slice(0, 12) };
  }
}

// ---------- JSON ----------

/** "2023-02-20T09:38:17+00:00" */
export function formatCommitDate(ms: number): string {
  return `${new Date(ms).toISOString().slice(0, 19)}+00:00`;
}

const escapeHtml = (s: string): string => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");

/** The message rendered as Bitbucket renders it: one <p> per paragraph. */
function renderMessage(message: string): string {
  return message
    .trim()
    .split(/\n{2,}/)
    .map((p) => `<p>${escapeHtml(p).replace(/\n/g, "<br>\n")}</p>`)
    .join("\n");
}

function commitLinks(full: string, hash: string): { self: { href: string }; html: { href: string } } {
  return {
    self: { href: `${API}/repositories/${full}/commit/${hash}` },
    html: { href: `${WEB}/${full}/commits/${hash}` },
  };
}

/** A commit as `GET .../commits/{revision}` lists it (keys in the order the real API writes them). */
export function gitCommitJson(repo: RepositoryJson, node: CommitNode): GitCommitJson {
  const full = repo.full_name;
  const api = `${API}/repositories/${full}`;
  const user = node.author.user;
  return {
    type: "commit",
    hash: node.hash,
    date: formatCommitDate(node.dateMs),
    author: {
      type: "author",
      raw: node.author.raw,
      ...(user
        ? {
            user: {
              display_name: user.display_name,
              links: { self: user.links.self, avatar: user.links.avatar, html: user.links.html },
              type: "user",
              uuid: user.uuid,
              ...(user.account_id !== undefined ? { account_id: user.account_id } : {}),
              ...(user.nickname !== undefined ? { nickname: user.nickname } : {}),
            },
          }
        : {}),
    },
    message: node.message,
    summary: { type: "rendered", raw: node.message, markup: "markdown", html: renderMessage(node.message) },
    links: {
      ...commitLinks(full, node.hash),
      diff: { href: `${api}/diff/${node.hash}` },
      approve: { href: `${api}/commit/${node.hash}/approve` },
      comments: { href: `${api}/commit/${node.hash}/comments` },
      statuses: { href: `${api}/commit/${node.hash}/statuses` },
      patch: { href: `${api}/patch/${node.hash}` },
    },
    parents: node.parents.map((p) => ({ hash: p.hash, links: commitLinks(full, p.hash), type: "commit" })),
    repository: {
      type: "repository",
      full_name: full,
      links: { self: repo.links.self, html: repo.links.html, avatar: repo.links.avatar },
      name: repo.name,
      uuid: repo.uuid,
    },
  };
}
