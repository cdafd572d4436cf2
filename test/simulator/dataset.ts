// The generated workspace: repositories (eager, cheap) and their Pipelines runs (generated lazily per repository).

import { attachCommit, type CommitAuthor, type CommitGraph, commitAuthors, emptyHistory, writeHistory } from "./commits.js";
import { deploymentJson, generateEnvironments, hasEnvironments } from "./deployments.js";
import {
  buildRepositoryJson,
  commitJson,
  condensedRepository,
  LANGUAGES,
  makeUsers,
  PIPELINES_HOST,
  PROJECTS,
  slugForIndex,
  type WorkspaceInfo,
} from "./fixtures.js";
import { generateRuns } from "./history.js";
import { deriveSeed, Random } from "./random.js";
import {
  compareRuns,
  completeRun,
  DAY,
  pendingRun,
  type RepoRecord,
  type RunRecord,
  type RunStatus,
  refKey,
  SECOND,
  type StepRecord,
  triggerJson,
} from "./records.js";
import { finishSteps, generateSteps, rerunSteps, stepJson } from "./steps.js";
import { formatPipelineTime, formatRepoTime } from "./time.js";
import type {
  AddRunOptions,
  CompletedResult,
  DeploymentJson,
  EnvironmentJson,
  PipelineJson,
  PipelineStateJson,
  RepositoryJson,
  StepJson,
} from "./types.js";

export type { RepoRecord, RunRecord, RunStatus, StepRecord };

/** Custom deploy selectors as repositories without environments name them. */
const TERSE_DEPLOY_PATTERNS: ReadonlyMap<string, string> = new Map([
  ["deploy-to-production", "deploy-prod"],
  ["deploy-to-staging", "deploy-staging"],
]);

export interface DatasetOptions {
  seed: number;
  workspace: string;
  repositories: number;
  runsPerRepository: number | ((repoIndex: number) => number);
  startMs: number;
  nowMs: () => number;
}

export class Dataset {
  readonly workspace: WorkspaceInfo;
  private readonly repos: RepoRecord[] = [];
  private readonly opts: DatasetOptions;
  /** Randomness for mutations made after start (addRun, finishRun, ...): deterministic for a given call sequence. */
  private readonly mutationRng: Random;
  /** Randomness for step timings changed by mutations; separate so runs' mutation values stay as they were. */
  private readonly stepMutationRng: Random;
  /** Randomness for commits written by addRun; separate for the same reason. */
  private readonly commitMutationRng: Random;
  private readonly authors: CommitAuthor[];

  constructor(opts: DatasetOptions) {
    this.opts = opts;
    const wsRng = new Random(deriveSeed(opts.seed, "workspace", opts.workspace));
    const wsUuid = wsRng.uuid();
    this.workspace = {
      slug: opts.workspace,
      uuid: wsUuid,
      name: opts.workspace.charAt(0).toUpperCase() + opts.workspace.slice(1),
      users: makeUsers(wsRng),
      projects: PROJECTS.map(([key, name]) => ({ key, name, uuid: wsRng.uuid() })),
    };
    this.mutationRng = new Random(deriveSeed(opts.seed, "mutations"));
    this.stepMutationRng = new Random(deriveSeed(opts.seed, "step-mutations"));
    this.commitMutationRng = new Random(deriveSeed(opts.seed, "commit-mutations"));
    this.authors = commitAuthors(this.workspace.users, opts.workspace);
    const n = Math.max(0, Math.floor(opts.repositories));
    const firstCreated = opts.startMs - 3 * 365 * DAY;
    const lastCreated = opts.startMs - 100 * DAY;
    const step = n > 0 ? (lastCreated - firstCreated) / n : 0;
    for (let i = 0; i < n; i++) {
      const rng = new Random(deriveSeed(opts.seed, "repo", i));
      const createdMs = Math.floor(firstCreated + (i + 0.05 + rng.float() * 0.9) * step);
      const createdMicros = createdMs * 1000 + rng.int(0, 999);
      const updatedMicros = this.pickUpdated(rng, createdMicros);
      this.repos.push(this.makeRepo(i, slugForIndex(i), rng, createdMicros, updatedMicros));
    }
  }

  // ---------- queries ----------

  nowMs(): number {
    return this.opts.nowMs();
  }

  /** Live (not deleted) repositories, in creation order. */
  liveRepos(): RepoRecord[] {
    return this.repos.filter((r) => !r.deleted);
  }

  /** A live repository by slug or by braced uuid. */
  findRepo(slugOrUuid: string): RepoRecord | undefined {
    const key = slugOrUuid.toLowerCase();
    return this.repos.find((r) => !r.deleted && (r.json.slug === key || r.json.uuid.toLowerCase() === key));
  }

  requireRepo(slug: string): RepoRecord {
    const repo = this.findRepo(slug);
    if (!repo) throw new Error(`simulator: no repository '${slug}'`);
    return repo;
  }

  runsOf(repo: RepoRecord): RunRecord[] {
    if (!repo.runs) {
      const ctx = { seed: this.opts.seed, startMs: this.opts.startMs, users: this.workspace.users };
      repo.runs = generateRuns(ctx, repo, this.runCount(repo.index));
      if (!hasEnvironments(repo)) {
        // Without deployment environments the yml names its custom deploy pipelines tersely (reference §6.3 fallbacks).
        for (const run of repo.runs) {
          const renamed = TERSE_DEPLOY_PATTERNS.get(run.target.selector.type === "custom" ? run.target.selector.pattern : "");
          if (renamed !== undefined) run.target.selector = { type: "custom", pattern: renamed };
        }
      }
      repo.commits = writeHistory(this.opts.seed, repo, repo.runs, this.authors, this.opts.startMs);
    }
    return repo.runs;
  }

  /** The repository's git history (written with its runs; empty for a repository added at run time). */
  commitsOf(repo: RepoRecord): CommitGraph {
    this.runsOf(repo);
    repo.commits ??= emptyHistory(repo, this.authors);
    return repo.commits;
  }

  hasEnvironments(repo: RepoRecord): boolean {
    return hasEnvironments(repo);
  }

  /** The run's steps, generated on first need (as of the clock start: generated history only changes by mutations). */
  stepsOf(repo: RepoRecord, run: RunRecord): StepRecord[] {
    run.steps ??= generateSteps(this.opts.seed, repo, run, hasEnvironments(repo), this.opts.startMs);
    return run.steps;
  }

  /** Fresh API objects of the run's steps, in execution order. */
  renderSteps(repo: RepoRecord, run: RunRecord): StepJson[] {
    const now = this.nowMs();
    return this.stepsOf(repo, run).map((s) => stepJson(repo, run, s, now));
  }

  environmentsOf(repo: RepoRecord): EnvironmentJson[] {
    repo.environments ??= generateEnvironments(this.opts.seed, repo);
    return repo.environments;
  }

  /** Fresh copies of the repository's environments, by rank. */
  renderEnvironments(repo: RepoRecord): EnvironmentJson[] {
    return structuredClone(this.environmentsOf(repo));
  }

  /** Fresh deployment rows: one per deploy step of every run, runs oldest first, steps in order. */
  renderDeployments(repo: RepoRecord): DeploymentJson[] {
    const environments = this.environmentsOf(repo);
    if (environments.length === 0) return [];
    const bySlug = new Map(environments.map((e) => [e.slug, e.uuid]));
    const rows: DeploymentJson[] = [];
    for (const run of this.runsOf(repo)) {
      for (const step of this.stepsOf(repo, run)) {
        const envUuid = step.env === undefined ? undefined : bySlug.get(step.env);
        if (envUuid !== undefined) rows.push(deploymentJson(repo, run, step, envUuid));
      }
    }
    return rows;
  }

  findRun(repo: RepoRecord, uuid: string): RunRecord | undefined {
    const key = uuid.toLowerCase();
    return this.runsOf(repo).find((r) => r.uuid === key);
  }

  /** The run as the API serialises it, UTF-8 (cached once the run is COMPLETED). */
  runJsonBytes(repo: RepoRecord, run: RunRecord): Buffer {
    if (run.cache !== undefined) return run.cache;
    const now = this.nowMs();
    const elapsed = Math.max(0, Math.floor((now - run.runCreatedMs) / 1000));
    let state: PipelineStateJson;
    let duration: number;
    let buildSeconds: number;
    const s = run.status;
    if (s.state === "PENDING") {
      state = { type: "pipeline_state_pending", name: "PENDING" };
      duration = 0;
      buildSeconds = run.priorBuildSeconds;
    } else if (s.state === "IN_PROGRESS") {
      state = {
        type: "pipeline_state_in_progress",
        name: "IN_PROGRESS",
        stage: { type: `pipeline_state_in_progress_${s.stage.toLowerCase()}`, name: s.stage },
      };
      duration = elapsed;
      buildSeconds = run.priorBuildSeconds + (s.stage === "RUNNING" ? elapsed : 0);
    } else {
      const result: NonNullable<PipelineStateJson["result"]> = {
        type: `pipeline_state_completed_${s.result.toLowerCase()}`,
        name: s.result,
      };
      if (s.error) result.error = s.error;
      if (s.terminator) result.terminator = s.terminator;
      state = { type: "pipeline_state_completed", name: "COMPLETED", result };
      duration = run.durationSeconds;
      buildSeconds = run.buildSecondsUsed;
    }
    repo.condensed ??= JSON.stringify(condensedRepository(repo.json));
    const self = `${PIPELINES_HOST}/accounts/${this.workspace.uuid}/repositories/${repo.json.uuid}/pipelines/${run.uuid}`;
    // Keys in the order the real API writes them; "repository" is spliced in pre-serialised.
    const head = JSON.stringify({
      type: "pipeline",
      uuid: run.uuid,
      build_number: run.buildNumber,
      run_number: run.runNumber,
      ...(run.creator ? { creator: run.creator } : {}),
    });
    const tail = JSON.stringify({
      target: run.target,
      trigger: triggerJson(run.trigger),
      state,
      created_on: formatPipelineTime(run.createdMs, run.createdSub, run.digits),
      ...(run.completedMs !== undefined
        ? { completed_on: formatPipelineTime(run.completedMs, run.completedSub, run.digits) }
        : {}),
      duration_in_seconds: duration,
      build_seconds_used: buildSeconds,
      first_successful: run.firstSuccessful,
      expired: run.expired,
      has_variables: run.hasVariables,
      links: { self: { href: self }, steps: { href: `${self}/steps` } },
    });
    const bytes = Buffer.from(`${head.slice(0, -1)},"repository":${repo.condensed},${tail.slice(1)}`, "utf8");
    if (s.state === "COMPLETED") run.cache = bytes;
    return bytes;
  }

  /** A fresh copy of the run's API object. */
  renderRun(repo: RepoRecord, run: RunRecord): PipelineJson {
    return JSON.parse(this.runJsonBytes(repo, run).toString("utf8")) as PipelineJson;
  }

  repoJsonBytes(repo: RepoRecord): Buffer {
    repo.cache ??= Buffer.from(JSON.stringify(repo.json), "utf8");
    return repo.cache;
  }

  /** A fresh copy of the repository's API object. */
  renderRepo(repo: RepoRecord): RepositoryJson {
    return JSON.parse(this.repoJsonBytes(repo).toString("utf8")) as RepositoryJson;
  }

  // ---------- mutations ----------

  addRepository(slug?: string): RepoRecord {
    const index = this.repos.length;
    const finalSlug = (slug ?? slugForIndex(index)).toLowerCase();
    if (this.findRepo(finalSlug)) throw new Error(`simulator: repository '${finalSlug}' already exists`);
    const rng = new Random(deriveSeed(this.opts.seed, "repo", index));
    const micros = this.nowMs() * 1000;
    const repo = this.makeRepo(index, finalSlug, rng, micros, micros);
    repo.runs = [];
    this.repos.push(repo);
    return repo;
  }

  touchRepository(slug: string): void {
    const repo = this.requireRepo(slug);
    repo.updatedMicros = this.nowMs() * 1000;
    repo.json.updated_on = formatRepoTime(repo.updatedMicros);
    repo.cache = undefined;
  }

  deleteRepository(slug: string): void {
    this.requireRepo(slug).deleted = true;
  }

  disablePipelines(slug: string): void {
    this.requireRepo(slug).pipelinesDisabled = true;
  }

  hideEnvironments(slug: string, which: "all" | "404" | string[], deleted: boolean): void {
    const repo = this.requireRepo(slug);
    const all = this.environmentsOf(repo).map((e) => e.uuid);
    repo.hiddenEnvironments = { listing: which === "404" ? "404" : new Set(which === "all" ? all : which), deleted };
  }

  /** Whether hideEnvironments hid this environment from the listing. */
  environmentHidden(repo: RepoRecord, uuid: string): boolean {
    const listing = repo.hiddenEnvironments?.listing;
    return listing === "404" || (listing?.has(uuid) ?? false);
  }

  /** Fresh copies of the environments its listing shows; undefined when the listing answers 404 (hideEnvironments). */
  renderEnvironmentsListing(repo: RepoRecord): EnvironmentJson[] | undefined {
    if (repo.hiddenEnvironments?.listing === "404") return undefined;
    return this.renderEnvironments(repo).filter((e) => !this.environmentHidden(repo, e.uuid));
  }

  addRun(slug: string, opts: AddRunOptions = {}): RunRecord {
    const repo = this.requireRepo(slug);
    const runs = this.runsOf(repo);
    const rng = this.mutationRng;
    const now = this.nowMs();
    const createdMs = opts.createdOn ? opts.createdOn.getTime() : now;
    const deploy = opts.deploy;
    const trigger = opts.trigger ?? (deploy ? "manual" : "push");
    const branch = opts.branch ?? repo.json.mainbranch.name;
    const requested = opts.state ?? (opts.result ? "COMPLETED" : deploy ? "IN_PROGRESS" : "PENDING");
    const customPattern = opts.pattern ?? (deploy ? `deploy-to-${deploy}` : undefined);
    const buildNumber = runs.reduce((max, r) => Math.max(max, r.buildNumber), 0) + 1;
    const run = pendingRun(rng, {
      uuid: rng.uuid(),
      buildNumber,
      creator: trigger === "schedule" ? undefined : rng.pick(this.workspace.users),
      target: {
        type: "pipeline_ref_target",
        ref_type: opts.tag !== undefined ? "tag" : "branch",
        ref_name: opts.tag ?? branch,
        selector:
          customPattern !== undefined
            ? { type: "custom", pattern: customPattern }
            : trigger === "manual"
              ? { type: "custom", pattern: "deploy-to-production" }
              : opts.tag !== undefined
                ? { type: "tags", pattern: opts.tagSelector ?? "v*" }
                : { type: "branches", pattern: branch },
        // Replaced by a commit of the history below; still drawn so that the values drawn after it stay as they were.
        commit: commitJson(repo.json.full_name, rng.hex(40)),
      },
      trigger,
      createdMs,
    });
    attachCommit(this.commitsOf(repo), this.commitMutationRng, repo, run);
    run.hasVariables = trigger === "manual";
    if (deploy) run.deployEnv = deploy;
    if (requested === "COMPLETED") {
      const end = Math.max(createdMs, Math.min(createdMs + rng.int(30, 600) * SECOND, now));
      completeRun(run, opts.result ?? "SUCCESSFUL", end, rng, this.workspace.users);
    } else if (requested !== "PENDING") {
      run.status = { state: "IN_PROGRESS", stage: requested === "IN_PROGRESS" ? "RUNNING" : requested };
    }
    run.steps = generateSteps(this.opts.seed, repo, run, hasEnvironments(repo), Math.max(now, createdMs), true);
    runs.push(run);
    runs.sort(compareRuns);
    this.refreshFirstSuccessful(runs, run);
    return run;
  }

  finishRun(slug: string, uuid: string, result: CompletedResult): RunRecord {
    const repo = this.requireRepo(slug);
    const run = this.requireRun(repo, uuid);
    const steps = this.stepsOf(repo, run); // as they were before the change
    completeRun(run, result, Math.max(this.nowMs(), run.runCreatedMs), this.mutationRng, this.workspace.users);
    finishSteps(steps, run, result, this.stepMutationRng);
    this.refreshFirstSuccessful(this.runsOf(repo), run);
    run.cache = undefined;
    return run;
  }

  rerun(slug: string, uuid: string): RunRecord {
    const repo = this.requireRepo(slug);
    const run = this.requireRun(repo, uuid);
    const steps = this.stepsOf(repo, run); // as they were before the change
    run.priorBuildSeconds = run.status.state === "COMPLETED" ? run.buildSecondsUsed : run.priorBuildSeconds;
    run.runNumber += 1;
    run.runCreatedMs = this.nowMs();
    run.status = { state: "IN_PROGRESS", stage: "RUNNING" };
    run.completedMs = undefined;
    run.durationSeconds = 0;
    run.firstSuccessful = false;
    run.cache = undefined;
    rerunSteps(steps, run, run.runCreatedMs);
    return run;
  }

  // ---------- generation ----------

  private requireRun(repo: RepoRecord, uuid: string): RunRecord {
    const run = this.findRun(repo, uuid);
    if (!run) throw new Error(`simulator: no run ${uuid} in '${repo.json.slug}'`);
    return run;
  }

  private refreshFirstSuccessful(runs: RunRecord[], run: RunRecord): void {
    if (run.status.state !== "COMPLETED" || run.status.result !== "SUCCESSFUL") {
      run.firstSuccessful = false;
      return;
    }
    const key = refKey(run.target);
    let previousOk = false;
    for (const r of runs) {
      if (r === run) break;
      if (r.status.state === "COMPLETED" && refKey(r.target) === key) previousOk = r.status.result === "SUCCESSFUL";
    }
    run.firstSuccessful = !previousOk;
  }

  private pickUpdated(rng: Random, createdMicros: number): number {
    const start = this.opts.startMs;
    const createdMs = Math.floor(createdMicros / 1000);
    const bucket = rng.weighted([
      [14, 5],
      [90, 3],
      [0, 2],
    ] as const);
    const from = bucket === 0 ? createdMs : Math.max(createdMs, start - bucket * DAY);
    const ms = from + Math.floor(rng.float() * (start - from));
    return Math.max(createdMicros, ms * 1000 + rng.int(0, 999));
  }

  private makeRepo(index: number, slug: string, rng: Random, createdMicros: number, updatedMicros: number): RepoRecord {
    const ws = this.workspace;
    const project = rng.pick(ws.projects);
    const json = buildRepositoryJson({
      workspace: ws,
      slug,
      uuid: rng.uuid(),
      project,
      language: rng.pick(LANGUAGES),
      mainbranch: rng.chance(0.8) ? "main" : "master",
      description: rng.chance(0.3) ? "" : `${slug.replace(/-/g, " ")} (owned by ${project.name})`,
      size: rng.int(20_000, 40_000_000),
      forkPolicy: rng.pick(["no_public_forks", "no_public_forks", "no_forks", "allow_forks"] as const),
      hasIssues: rng.chance(0.2),
      createdOn: formatRepoTime(createdMicros),
      updatedOn: formatRepoTime(updatedMicros),
    });
    return {
      index,
      json,
      createdMicros,
      updatedMicros,
      deleted: false,
      pipelinesDisabled: false,
      runs: undefined,
      nextPullRequestId: 1,
      cache: undefined,
      condensed: undefined,
    };
  }

  private runCount(index: number): number {
    const r = this.opts.runsPerRepository;
    const n = typeof r === "function" ? r(index) : r;
    return Math.max(0, Math.floor(n));
  }
}
