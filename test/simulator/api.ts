// The simulated REST endpoints (reference §2 to §6). Pure: request in, response out; no sockets here.

import { authenticate, checkScope, type Resource } from "./auth.js";
import { BbqlError, compareFieldValues, compileBbql, type FieldDef, type FieldTable } from "./bbql.js";
import { gitCommitJson } from "./commits.js";
import type { Dataset, RepoRecord, RunRecord } from "./dataset.js";
import { apiError, json, noApiHere, noWorkspace, pipelinesError, rawJson, type SimResponse } from "./responses.js";
import type { DeploymentJson, SimCredential } from "./types.js";

export interface ApiContext {
  dataset: Dataset;
  origin: string;
  credentials: readonly SimCredential[];
}

export interface ApiRequest {
  method: string;
  /** Raw path, still URL-encoded. */
  rawPath: string;
  /** Raw query string without "?" ("" when none). */
  rawQuery: string;
  /** Decoded query ("+" is a space). */
  params: URLSearchParams;
  authorization: string | undefined;
}

const MAX_PAGELEN = 100;
const DEFAULT_PAGELEN = 10;

// ---------- routing ----------

export function handleApi(ctx: ApiContext, req: ApiRequest): SimResponse {
  if (req.method !== "GET" && req.method !== "HEAD") return apiError(405, "Method not allowed");
  let segments: string[];
  try {
    segments = req.rawPath
      .split("/")
      .slice(1)
      .map((s) => decodeURIComponent(s));
  } catch {
    return noApiHere();
  }
  // The Pipelines service's collections: the real API serves environments, deployments and steps
  // only with the trailing slash (the slashless forms answer "no API hosted at this URL"); the
  // pipelines listing answers both (API notes §3.1).
  const trailingSlash = segments.length > 2 && segments[segments.length - 1] === "";
  if (trailingSlash) segments.pop();
  const [version, collection, ws, slug, sub, id, ...rest] = segments;
  const slashOnly =
    collection === "repositories" &&
    ((sub === "environments" && id === undefined) ||
      (sub === "deployments" && id === undefined) ||
      (sub === "pipelines" && rest[0] === "steps" && rest.length === 1));
  if (slashOnly && !trailingSlash) return noApiHere();
  // The only deeper paths served: .../pipelines/{uuid}/steps, .../pipelines/{uuid}/steps/{step_uuid}, and
  // .../commits/{revision} where the revision is a branch name with slashes (feature/x).
  const stepsPath =
    collection === "repositories" && sub === "pipelines" && id !== undefined && rest[0] === "steps" && rest.length <= 2;
  const commitsPath = collection === "repositories" && sub === "commits";
  if (version !== "2.0" || (rest.length > 0 && !stepsPath && !commitsPath)) return noApiHere();

  if (collection === "repositories") {
    if (ws === undefined || ws === "") return deprecated();
    if (slug === undefined) return guarded(ctx, req, "repository", ws, () => listRepositories(ctx, req));
    if (sub === undefined)
      return guarded(ctx, req, "repository", ws, () => withRepo(ctx, slug, (r) => rawJson(200, ctx.dataset.repoJsonBytes(r))));
    if (sub === "commits") {
      // Served: /commits, /commits/ (every branch) and /commits/{revision}. No recorded request or document shows
      // /commits/{revision}/, so it gets the no-API 404 rather than a guess.
      if (id !== undefined && req.rawPath.endsWith("/")) return noApiHere();
      const revision = id === undefined ? undefined : [id, ...rest].join("/");
      return guarded(ctx, req, "repository", ws, () => withRepo(ctx, slug, (repo) => listCommits(ctx, req, repo, revision)));
    }
    if (sub !== "pipelines" && sub !== "environments" && sub !== "deployments") return noApiHere();
    return guarded(ctx, req, "pipeline", ws, () =>
      withRepo(ctx, slug, (repo) => {
        if (repo.pipelinesDisabled) {
          return apiError(404, "Not found", { detail: `Pipelines is not enabled for repository ${repo.json.full_name}.` });
        }
        if (sub === "environments")
          return id === undefined ? listEnvironments(ctx, req, repo) : getEnvironment(ctx, req, repo, id);
        if (sub === "deployments") return id === undefined ? listDeployments(ctx, req, repo) : getDeployment(ctx, req, repo, id);
        if (id === undefined) return listPipelines(ctx, req, repo);
        if (!stepsPath) return getPipeline(ctx, repo, id);
        return steps(ctx, req, repo, id, rest[1]);
      }),
    );
  }
  if (collection === "workspaces" && slug === undefined) {
    if (ws === undefined || ws === "") return deprecated();
    return guarded(ctx, req, "workspace", ws, () => json(200, workspaceJson(ctx)));
  }
  if (collection === "user" && ws === undefined) return getUser(ctx, req);
  return noApiHere();
}

/** Authenticates, checks the scope, then resolves the workspace before running `body`. */
function guarded(ctx: ApiContext, req: ApiRequest, resource: Resource, ws: string, body: () => SimResponse): SimResponse {
  const auth = authenticate(req.authorization, ctx.credentials);
  if (!auth.ok) return auth.response;
  const denied = checkScope(auth.credential, resource);
  if (denied) return denied;
  const info = ctx.dataset.workspace;
  const key = ws.toLowerCase();
  if (key !== info.slug.toLowerCase() && key !== info.uuid.toLowerCase()) return noWorkspace(ws);
  const response = body();
  if (auth.credential.kind === "bearer") {
    // Scaled rate-limit headers are only sent for access tokens (reference §7).
    response.headers["x-ratelimit-limit"] = "1000";
    response.headers["x-ratelimit-resource"] = "api";
    response.headers["x-ratelimit-nearlimit"] = "false";
  }
  return response;
}

function withRepo(ctx: ApiContext, slug: string, body: (repo: RepoRecord) => SimResponse): SimResponse {
  const repo = ctx.dataset.findRepo(slug);
  if (!repo) return apiError(404, `Repository ${ctx.dataset.workspace.slug}/${slug} not found`);
  return body(repo);
}

function deprecated(): SimResponse {
  return apiError(410, "CHANGE-2770 - Functionality has been deprecated", {
    detail: "This API has been removed. Use workspace-scoped endpoints instead.",
    data: { announcement_url: "https://developer.atlassian.com/cloud/bitbucket/changelog/#CHANGE-2770" },
  });
}

// ---------- helpers ----------

type IntParam = { ok: true; value: number } | { ok: false };

function intParam(params: URLSearchParams, name: string, fallback: number): IntParam {
  const raw = params.get(name);
  if (raw === null || raw === "") return { ok: true, value: fallback };
  if (!/^\d+$/.test(raw)) return { ok: false };
  const value = Number(raw);
  return value >= 1 ? { ok: true, value } : { ok: false };
}

/** The request's own query with `page` replaced (or appended), every other parameter kept with its raw encoding. */
function withPage(rawQuery: string, page: number | string): string {
  const out: string[] = [];
  let placed = false;
  for (const part of rawQuery.split("&")) {
    if (part === "") continue;
    if (decodeURIComponentSafe(part.split("=")[0] ?? "") !== "page") out.push(part);
    else if (!placed) {
      out.push(`page=${page}`);
      placed = true;
    }
  }
  if (!placed) out.push(`page=${page}`);
  return out.join("&");
}

function decodeURIComponentSafe(s: string): string {
  try {
    return decodeURIComponent(s.replace(/\+/g, " "));
  } catch {
    return s;
  }
}

/** Concatenates pre-serialised values into a list envelope without re-serialising them. */
function envelope(head: string, values: Buffer[], tail: string): Buffer {
  const parts: Buffer[] = [Buffer.from(head, "utf8")];
  const comma = Buffer.from(",");
  values.forEach((v, i) => {
    if (i > 0) parts.push(comma);
    parts.push(v);
  });
  parts.push(Buffer.from(tail, "utf8"));
  return Buffer.concat(parts);
}

function nextMember(next: string | undefined): string {
  return next === undefined ? "" : `,"next":${JSON.stringify(next)}`;
}

// ---------- repositories ----------

const str = (get: (r: RepoRecord) => string | null): FieldDef<RepoRecord> => ({ kind: "string", get });
const bool = (get: (r: RepoRecord) => boolean): FieldDef<RepoRecord> => ({ kind: "boolean", get });

const REPO_FIELDS: FieldTable<RepoRecord> = {
  uuid: str((r) => r.json.uuid),
  slug: str((r) => r.json.slug),
  name: str((r) => r.json.name),
  full_name: str((r) => r.json.full_name),
  description: str((r) => r.json.description),
  language: str((r) => r.json.language),
  scm: str((r) => r.json.scm),
  fork_policy: str((r) => r.json.fork_policy),
  website: str((r) => r.json.website),
  "mainbranch.name": str((r) => r.json.mainbranch.name),
  "project.key": str((r) => r.json.project.key),
  "project.name": str((r) => r.json.project.name),
  "project.uuid": str((r) => r.json.project.uuid),
  "workspace.slug": str((r) => r.json.workspace.slug),
  "workspace.uuid": str((r) => r.json.workspace.uuid),
  is_private: bool((r) => r.json.is_private),
  has_issues: bool((r) => r.json.has_issues),
  has_wiki: bool((r) => r.json.has_wiki),
  size: { kind: "number", get: (r) => r.json.size },
  created_on: { kind: "datetime", get: (r) => r.createdMicros },
  updated_on: { kind: "datetime", get: (r) => r.updatedMicros },
};

function listRepositories(ctx: ApiContext, req: ApiRequest): SimResponse {
  const { params } = req;
  const page = intParam(params, "page", 1);
  if (!page.ok) return apiError(400, "Invalid page");
  const pagelenParam = intParam(params, "pagelen", DEFAULT_PAGELEN);
  if (!pagelenParam.ok) return apiError(400, "Invalid pagelen");
  const pagelen = Math.min(MAX_PAGELEN, pagelenParam.value);

  let repos = ctx.dataset.liveRepos();
  const q = params.get("q");
  if (q !== null && q.trim() !== "") {
    try {
      const predicate = compileBbql(q, REPO_FIELDS);
      repos = repos.filter(predicate);
    } catch (err) {
      if (err instanceof BbqlError) return apiError(400, `Invalid query: ${err.message}`, { detail: `q=${q}` });
      throw err;
    }
  }
  const sort = params.get("sort");
  if (sort !== null && sort !== "") {
    const desc = sort.startsWith("-");
    const name = desc ? sort.slice(1) : sort;
    const def = Object.hasOwn(REPO_FIELDS, name) ? REPO_FIELDS[name] : undefined;
    if (!def)
      return apiError(400, `Invalid sort field: '${sort}'`, {
        detail: "Only one field, optionally prefixed with '-', can be used for sorting.",
      });
    repos = [...repos].sort((a, b) => (desc ? -1 : 1) * compareFieldValues(def.get(a), def.get(b)));
  }

  const size = repos.length;
  const start = (page.value - 1) * pagelen;
  const values = repos.slice(start, start + pagelen).map((r) => ctx.dataset.repoJsonBytes(r));
  const next = page.value * pagelen < size ? `${ctx.origin}${req.rawPath}?${withPage(req.rawQuery, page.value + 1)}` : undefined;
  return rawJson(
    200,
    envelope(`{"pagelen":${pagelen},"size":${size},"values":[`, values, `],"page":${page.value}${nextMember(next)}}`),
  );
}

// ---------- commits ----------

const COMMITS_PAGELEN = 30;

/**
 * Commit listings page with an opaque iterator token (`?page=dbtR`, not a page number) and send neither `size` nor
 * `page`. The simulator's token encodes the offset; a client must follow `next`, never build it.
 */
function pageToken(offset: number): string {
  return Buffer.from(`c${offset}`, "utf8").toString("base64url");
}

function pageOffset(token: string | null): number | undefined {
  if (token === null) return 0;
  const m = /^c(\d+)$/.exec(Buffer.from(token, "base64url").toString("utf8"));
  return m ? Number(m[1]) : undefined;
}

/**
 * GET .../commits[/{revision}]?include=..&exclude=..: `git log <revision> <include...> ^<exclude...>`, newest first,
 * `pagelen` 30 by default (at most 100). An unknown revision, include or exclude is a 404 naming it. `path` is not
 * supported (ignored).
 */
function listCommits(ctx: ApiContext, req: ApiRequest, repo: RepoRecord, revision: string | undefined): SimResponse {
  const { params } = req;
  const pagelenParam = intParam(params, "pagelen", COMMITS_PAGELEN);
  if (!pagelenParam.ok) return apiError(400, "Invalid pagelen");
  const pagelen = Math.min(MAX_PAGELEN, pagelenParam.value);
  const offset = pageOffset(params.get("page"));
  if (offset === undefined) return apiError(400, "Invalid page");
  const nonEmpty = (values: string[]): string[] => values.filter((v) => v !== "");
  const include = [...(revision !== undefined ? [revision] : []), ...nonEmpty(params.getAll("include"))];
  const listed = ctx.dataset.commitsOf(repo).log(include, nonEmpty(params.getAll("exclude")));
  if (!listed.ok) return apiError(404, "Commit not found", { data: { shas: listed.missing } });
  const values = listed.commits
    .slice(offset, offset + pagelen)
    .map((node) => Buffer.from(JSON.stringify(gitCommitJson(repo.json, node)), "utf8"));
  const end = offset + pagelen;
  const next = end < listed.commits.length ? `${ctx.origin}${req.rawPath}?${withPage(req.rawQuery, pageToken(end))}` : undefined;
  return rawJson(200, envelope(`{"pagelen":${pagelen},"values":[`, values, `]${nextMember(next)}}`));
}

// ---------- pipelines ----------

const PIPELINE_SORTS: Record<string, (a: RunRecord, b: RunRecord) => number> = {
  created_on: () => 0, // the stored order already is created_on ascending
  run_creation_date: (a, b) => a.runCreatedMs - b.runCreatedMs,
  "creator.uuid": (a, b) => (a.creator?.uuid ?? "").localeCompare(b.creator?.uuid ?? ""),
};

/** Names the `status` filter accepts for a run (reference §3.2); repeating the parameter ORs them. */
function statusNames(run: RunRecord): string[] {
  const s = run.status;
  if (s.state === "PENDING") return ["PENDING"];
  if (s.state === "IN_PROGRESS") return s.stage === "RUNNING" ? ["BUILDING", "IN_PROGRESS"] : [s.stage];
  return s.result === "SUCCESSFUL" ? ["PASSED", "SUCCESSFUL"] : [s.result];
}

const TRIGGER_FILTER: Record<RunRecord["trigger"], string> = { push: "PUSH", manual: "MANUAL", schedule: "SCHEDULED" };

function branchOf(run: RunRecord): string | undefined {
  const t = run.target;
  if (t.type === "pipeline_pullrequest_target") return t.source;
  return t.ref_type === "branch" ? t.ref_name : undefined;
}

function listPipelines(ctx: ApiContext, req: ApiRequest, repo: RepoRecord): SimResponse {
  const { params } = req;
  const sort = params.get("sort");
  let comparator: ((a: RunRecord, b: RunRecord) => number) | undefined;
  let desc = false;
  if (sort !== null) {
    desc = sort.startsWith("-");
    const name = desc ? sort.slice(1) : sort;
    comparator = Object.hasOwn(PIPELINE_SORTS, name) ? PIPELINE_SORTS[name] : undefined;
    if (!comparator) {
      return pipelinesError(
        400,
        "Bad request",
        "rest-service.rest-service.invalid-sort-attribute",
        `Invalid sort attribute provided '${name}'`,
      );
    }
  }
  const page = intParam(params, "page", 1);
  if (!page.ok)
    return pipelinesError(
      400,
      "Bad request",
      "rest-service.rest-service.invalid-parameter",
      "Invalid value provided for parameter 'page'",
    );
  const pagelenParam = intParam(params, "pagelen", DEFAULT_PAGELEN);
  if (!pagelenParam.ok)
    return pipelinesError(
      400,
      "Bad request",
      "rest-service.rest-service.invalid-parameter",
      "Invalid value provided for parameter 'pagelen'",
    );
  const pagelen = Math.min(MAX_PAGELEN, pagelenParam.value);

  // `q` and `fields` are ignored, as on the real endpoint (quirk 1). A few documented query filters are honoured.
  let runs = ctx.dataset.runsOf(repo);
  const statuses = params.getAll("status").map((s) => s.toUpperCase());
  const triggers = params.getAll("trigger_type").map((s) => s.toUpperCase());
  const branch = params.get("target.branch") ?? params.get("target.ref_name");
  if (statuses.length > 0 || triggers.length > 0 || branch !== null) {
    runs = runs.filter(
      (r) =>
        (statuses.length === 0 || statusNames(r).some((n) => statuses.includes(n))) &&
        (triggers.length === 0 || triggers.includes(TRIGGER_FILTER[r.trigger])) &&
        (branch === null || branchOf(r) === branch || (r.target.type === "pipeline_ref_target" && r.target.ref_name === branch)),
    );
  }
  if (comparator) {
    const cmp = comparator;
    runs = [...runs].sort(cmp);
    if (desc) runs.reverse();
  }

  const size = runs.length;
  if (size === 0) return json(200, { page: page.value, values: [], size: 0, pagelen: 0 });
  const start = (page.value - 1) * pagelen;
  const values = runs.slice(start, start + pagelen).map((r) => ctx.dataset.runJsonBytes(repo, r));
  // The real `next` drops sort, fields and everything else but page and pagelen (reference §3.4).
  const next = page.value * pagelen < size ? `${ctx.origin}${req.rawPath}?page=${page.value + 1}&pagelen=${pagelen}` : undefined;
  return rawJson(
    200,
    envelope(`{"page":${page.value},"pagelen":${pagelen},"size":${size},"values":[`, values, `]${nextMember(next)}}`),
  );
}

function getPipeline(ctx: ApiContext, repo: RepoRecord, id: string): SimResponse {
  const run = /^\{[0-9a-fA-F-]{36}\}$/.test(id) ? ctx.dataset.findRun(repo, id) : undefined;
  if (!run) {
    return uuidNotFound("result-service", "pipeline", id);
  }
  return rawJson(200, ctx.dataset.runJsonBytes(repo, run));
}

// ---------- steps, environments, deployments (reference §5, §6) ----------

type Paging = { ok: true; page: number; pagelen: number } | { ok: false; response: SimResponse };

/** page / pagelen (default 10, at most 100) with the pipelines-service 400s. */
function paging(params: URLSearchParams): Paging {
  const page = intParam(params, "page", 1);
  if (!page.ok) {
    return {
      ok: false,
      response: pipelinesError(
        400,
        "Bad request",
        "rest-service.rest-service.invalid-parameter",
        "Invalid value provided for parameter 'page'",
      ),
    };
  }
  const pagelen = intParam(params, "pagelen", DEFAULT_PAGELEN);
  if (!pagelen.ok) {
    return {
      ok: false,
      response: pipelinesError(
        400,
        "Bad request",
        "rest-service.rest-service.invalid-parameter",
        "Invalid value provided for parameter 'pagelen'",
      ),
    };
  }
  return { ok: true, page: page.value, pagelen: Math.min(MAX_PAGELEN, pagelen.value) };
}

/**
 * `fields` entries with this sign: "-" exclusions ("-values.script_commands", "-state.url") or "+" additions
 * ("+values.environment.name"), as paths within each object. A `+` sent unencoded arrives as a space and makes the
 * entry a plain (inclusion) one; plain entries are not supported and are ignored, like every other unknown parameter.
 */
function fieldPaths(params: URLSearchParams, sign: "-" | "+", prefix: string): string[][] {
  const out: string[][] = [];
  for (const raw of params.getAll("fields")) {
    for (const part of raw.split(",")) {
      const entry = part.trim();
      if (!entry.startsWith(sign)) continue;
      const path = entry.slice(1);
      if (prefix === "") out.push(path.split("."));
      else if (path.startsWith(prefix)) out.push(path.slice(prefix.length).split("."));
    }
  }
  return out.filter((p) => p.length > 0 && p.every((s) => s !== ""));
}

function excludedPaths(params: URLSearchParams, prefix: string): string[][] {
  return fieldPaths(params, "-", prefix);
}

function omitPath(value: unknown, path: readonly string[]): void {
  if (typeof value !== "object" || value === null) return;
  if (Array.isArray(value)) {
    for (const item of value) omitPath(item, path);
    return;
  }
  const [head, ...tail] = path;
  if (head === undefined) return;
  const record = value as Record<string, unknown>;
  if (tail.length === 0) delete record[head];
  else omitPath(record[head], tail);
}

/**
 * A page of `items` in the standard envelope. `nextKeeps`: "paging" writes `next` with page and pagelen only (like
 * the pipelines list); "all" keeps every other parameter of the request. An empty list has pagelen 0 (quirk 3).
 */
function pagedObjects(ctx: ApiContext, req: ApiRequest, items: object[], nextKeeps: "paging" | "all"): SimResponse {
  const p = paging(req.params);
  if (!p.ok) return p.response;
  const size = items.length;
  if (size === 0) return json(200, { page: p.page, values: [], size: 0, pagelen: 0 });
  const start = (p.page - 1) * p.pagelen;
  const excluded = excludedPaths(req.params, "values.");
  const values = items.slice(start, start + p.pagelen).map((item) => {
    for (const path of excluded) omitPath(item, path);
    return Buffer.from(JSON.stringify(item), "utf8");
  });
  let next: string | undefined;
  if (p.page * p.pagelen < size) {
    const query = nextKeeps === "paging" ? `page=${p.page + 1}&pagelen=${p.pagelen}` : withPage(req.rawQuery, p.page + 1);
    next = `${ctx.origin}${req.rawPath}?${query}`;
  }
  return rawJson(
    200,
    envelope(`{"page":${p.page},"pagelen":${p.pagelen},"size":${size},"values":[`, values, `]${nextMember(next)}}`),
  );
}

function oneObject(req: ApiRequest, item: object): SimResponse {
  for (const path of excludedPaths(req.params, "")) omitPath(item, path);
  return json(200, item);
}

/** The Pipelines services' 404 for an object asked by uuid, e.g. ("result-service", "step", id). */
function uuidNotFound(service: string, kind: string, id: string): SimResponse {
  const label = kind.charAt(0).toUpperCase() + kind.slice(1);
  return pipelinesError(404, "Not found", `${service}.${kind}.not-found`, `${label} with uuid ${id} not found`, { uuid: id });
}

const BRACED_UUID = /^\{[0-9a-fA-F-]{36}\}$/;

function steps(ctx: ApiContext, req: ApiRequest, repo: RepoRecord, pipelineId: string, stepId: string | undefined): SimResponse {
  const run = BRACED_UUID.test(pipelineId) ? ctx.dataset.findRun(repo, pipelineId) : undefined;
  if (!run) {
    return uuidNotFound("result-service", "pipeline", pipelineId);
  }
  const all = ctx.dataset.renderSteps(repo, run);
  if (stepId === undefined) return pagedObjects(ctx, req, all, "paging");
  const key = stepId.toLowerCase();
  const found = BRACED_UUID.test(stepId) ? all.find((s) => s.uuid === key) : undefined;
  if (!found) return uuidNotFound("result-service", "step", stepId);
  return oneObject(req, found);
}

function listEnvironments(ctx: ApiContext, req: ApiRequest, repo: RepoRecord): SimResponse {
  const listed = ctx.dataset.renderEnvironmentsListing(repo);
  if (!listed) return apiError(404, "Not found");
  return pagedObjects(ctx, req, listed, "all");
}

function getEnvironment(ctx: ApiContext, req: ApiRequest, repo: RepoRecord, id: string): SimResponse {
  const key = id.toLowerCase();
  const found = ctx.dataset.renderEnvironmentsListing(repo)?.find((e) => e.uuid === key);
  if (!found) return uuidNotFound("environment-service", "environment", id);
  return oneObject(req, found);
}

/**
 * No filters and no sorts (reference §6.1): every other parameter is ignored; rows come oldest pipeline first. The
 * embedded environment is condensed to its uuid unless `fields` adds more of it (`+values.environment.name`).
 */
function listDeployments(ctx: ApiContext, req: ApiRequest, repo: RepoRecord): SimResponse {
  const rows = withEnvironment(ctx, repo, ctx.dataset.renderDeployments(repo), fieldPaths(req.params, "+", "values."));
  return pagedObjects(ctx, req, rows, "all");
}

function getDeployment(ctx: ApiContext, req: ApiRequest, repo: RepoRecord, id: string): SimResponse {
  const key = id.toLowerCase();
  const found = ctx.dataset.renderDeployments(repo).find((d) => d.uuid === key);
  if (!found) return uuidNotFound("deployment-service", "deployment", id);
  return oneObject(req, withEnvironment(ctx, repo, [found], fieldPaths(req.params, "+", ""))[0]!);
}

/** Copies the `environment.…` paths asked for from each row's full environment into the row (hidden ones too, unless deleted). */
function withEnvironment(ctx: ApiContext, repo: RepoRecord, rows: DeploymentJson[], added: string[][]): DeploymentJson[] {
  const paths = added.filter(([head, ...rest]) => head === "environment" && rest.length > 0).map((p) => p.slice(1));
  if (paths.length === 0) return rows;
  const deleted = (uuid: string) => repo.hiddenEnvironments?.deleted === true && ctx.dataset.environmentHidden(repo, uuid);
  const environments = new Map(
    ctx.dataset
      .renderEnvironments(repo)
      .filter((e) => !deleted(e.uuid))
      .map((e) => [e.uuid, e]),
  );
  for (const row of rows) {
    const full = environments.get(row.environment.uuid);
    if (full) for (const path of paths) copyPath(full, row.environment as Record<string, unknown>, path);
  }
  return rows;
}

function copyPath(from: unknown, to: Record<string, unknown>, path: readonly string[]): void {
  const [head, ...tail] = path;
  if (head === undefined || typeof from !== "object" || from === null || !(head in from)) return;
  const value = (from as Record<string, unknown>)[head];
  if (tail.length === 0) {
    to[head] = structuredClone(value);
    return;
  }
  if (typeof value !== "object" || value === null) return;
  const existing = to[head];
  const next = typeof existing === "object" && existing !== null ? (existing as Record<string, unknown>) : {};
  to[head] = next;
  copyPath(value, next, tail);
}

// ---------- workspace / user ----------

function workspaceJson(ctx: ApiContext): Record<string, unknown> {
  const ws = ctx.dataset.workspace;
  return {
    type: "workspace",
    uuid: ws.uuid,
    name: ws.name,
    slug: ws.slug,
    is_private: true,
    links: {
      self: { href: `https://api.bitbucket.org/2.0/workspaces/${ws.slug}` },
      html: { href: `https://bitbucket.org/${ws.slug}/` },
      avatar: { href: `https://bitbucket.org/workspaces/${ws.slug}/avatar/?ts=1700000000` },
    },
    created_on: "2019-04-02T09:15:31.127305+00:00",
  };
}

function getUser(ctx: ApiContext, req: ApiRequest): SimResponse {
  const auth = authenticate(req.authorization, ctx.credentials);
  if (!auth.ok) return auth.response;
  if (auth.credential.kind === "bearer") return apiError(403, "This API is not accessible by this authentication mechanism");
  const denied = checkScope(auth.credential, "account");
  if (denied) return denied;
  const user = ctx.dataset.workspace.users[0];
  return json(200, { ...user, created_on: "2018-01-15T08:00:00.000000+00:00" });
}
