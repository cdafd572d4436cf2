// Generation of a repository's Pipelines run history (reference §4): a realistic, seeded mix of states,
// triggers and targets, strictly increasing created_on by build_number.

import { commitJson, FEATURE_BRANCHES } from "./fixtures.js";
import { deriveSeed, Random } from "./random.js";
import { completeRun, DAY, MINUTE, pendingRun, type RepoRecord, type RunRecord, refKey, SECOND } from "./records.js";
import type { AccountJson, PipelineTargetJson, TriggerKind } from "./types.js";

export interface HistoryContext {
  seed: number;
  /** The simulated clock's start: history is generated relative to it, whenever it is generated. */
  startMs: number;
  users: readonly AccountJson[];
}

/** The seeded run history of one repository: ~90 days before the start time, oldest first. */
export function generateRuns(ctx: HistoryContext, repo: RepoRecord, n: number): RunRecord[] {
  const rng = new Random(deriveSeed(ctx.seed, "runs", repo.index));
  const start = ctx.startMs;
  const begin = start - 90 * DAY;
  const end = start - 10 * MINUTE;
  const step = n > 0 ? (end - begin) / n : 0;
  const nonTerminal = n === 0 || !rng.chance(0.45) ? 0 : n > 1 && rng.chance(0.35) ? 2 : 1;
  repo.nextPullRequestId = rng.int(1, 60);
  const runs: RunRecord[] = [];
  let build = rng.int(1, 40);
  let prevMs = -Infinity;
  for (let i = 0; i < n; i++) {
    let createdMs = Math.floor(begin + (i + 0.1 + rng.float() * 0.8) * step);
    const live = i >= n - nonTerminal;
    if (live) createdMs = start - (n - i) * rng.int(3, 20) * MINUTE;
    createdMs = Math.max(createdMs, prevMs + SECOND);
    prevMs = createdMs;
    if (i > 0 && rng.chance(0.02)) build += rng.int(2, 50); // an admin raised the build number
    runs.push(generateRun(ctx, repo, rng, build, createdMs, live));
    build += 1;
  }
  const lastOk = new Map<string, boolean>();
  for (const run of runs) {
    if (run.status.state !== "COMPLETED") continue;
    const key = refKey(run.target);
    const ok = run.status.result === "SUCCESSFUL";
    run.firstSuccessful = ok && lastOk.get(key) !== true;
    lastOk.set(key, ok);
  }
  return runs;
}

function generateRun(
  ctx: HistoryContext,
  repo: RepoRecord,
  rng: Random,
  buildNumber: number,
  createdMs: number,
  live: boolean,
): RunRecord {
  const start = ctx.startMs;
  const trigger = rng.weighted([
    ["push", 70],
    ["manual", 15],
    ["schedule", 15],
  ] as const);
  const target = generateTarget(repo, rng, trigger);
  const creator = trigger === "schedule" && rng.chance(0.6) ? undefined : rng.pick(ctx.users);
  const run = pendingRun(rng, { uuid: rng.uuid(), buildNumber, creator, target, trigger, createdMs });
  run.hasVariables = trigger === "manual" && rng.chance(0.5);
  if (live) {
    const kind = rng.weighted([
      ["PENDING", 25],
      ["RUNNING", 45],
      ["PAUSED", 15],
      ["HALTED", 15],
    ] as const);
    if (kind !== "PENDING") {
      run.status = { state: "IN_PROGRESS", stage: kind };
      if (kind !== "RUNNING") run.priorBuildSeconds = Math.min(rng.int(20, 300), Math.floor((start - createdMs) / 1000));
    }
    return run;
  }
  const result = rng.weighted([
    ["SUCCESSFUL", 76],
    ["FAILED", 14],
    ["ERROR", 4],
    ["STOPPED", 5],
    ["EXPIRED", 1],
  ] as const);
  const seconds =
    result === "SUCCESSFUL"
      ? rng.int(45, 900)
      : result === "FAILED"
        ? rng.int(20, 600)
        : result === "ERROR"
          ? rng.int(1, 60)
          : result === "STOPPED"
            ? rng.int(10, 400)
            : 0;
  const endMs = Math.max(createdMs, Math.min(createdMs + seconds * SECOND + rng.int(0, 999), start - SECOND));
  completeRun(run, result, endMs, rng, ctx.users);
  run.expired = start - createdMs > 75 * DAY;
  return run;
}

function generateTarget(repo: RepoRecord, rng: Random, trigger: TriggerKind): PipelineTargetJson {
  const full = repo.json.full_name;
  const main = repo.json.mainbranch.name;
  // Placeholders: writeHistory (commits.ts) points every run at a commit of the repository's history. They are still
  // drawn so that every later value of this stream, and so the generated runs, stay as they were.
  const commit = commitJson(full, rng.hex(40));
  const branch = (name: string, selector: PipelineTargetJson["selector"]): PipelineTargetJson => ({
    type: "pipeline_ref_target",
    ref_type: "branch",
    ref_name: name,
    selector,
    commit,
  });
  if (trigger === "manual") {
    const which = rng.weighted([
      ["prod", 50],
      ["staging", 25],
      ["feature", 25],
    ] as const);
    if (which === "prod") return branch(main, { type: "custom", pattern: "deploy-to-production" });
    if (which === "staging") return branch("develop", { type: "custom", pattern: "deploy-to-staging" });
    return branch(rng.pick(FEATURE_BRANCHES), { type: "default" });
  }
  if (trigger === "schedule") {
    return rng.chance(0.5)
      ? branch(main, { type: "branches", pattern: main })
      : branch(rng.pick([main, "develop"]), { type: "custom", pattern: "nightly" });
  }
  const kind = rng.weighted([
    ["main", 40],
    ["develop", 15],
    ["feature", 20],
    ["release", 10],
    ["tag", 8],
    ["pr", 7],
  ] as const);
  switch (kind) {
    case "main":
      return branch(main, { type: "branches", pattern: main });
    case "develop":
      return branch("develop", { type: "branches", pattern: "develop" });
    case "feature":
      return branch(rng.pick(FEATURE_BRANCHES), { type: "default" });
    case "release":
      return branch(`release/${rng.int(1, 4)}.x`, { type: "branches", pattern: "release/*" });
    case "tag":
      return {
        type: "pipeline_ref_target",
        ref_type: "tag",
        ref_name: `v${rng.int(1, 3)}.${rng.int(0, 20)}.${rng.int(0, 9)}`,
        selector: { type: "tags", pattern: "v*" },
        commit,
      };
    case "pr": {
      const id = repo.nextPullRequestId;
      repo.nextPullRequestId += 1;
      return {
        type: "pipeline_pullrequest_target",
        source: rng.pick(FEATURE_BRANCHES),
        destination: main,
        destination_commit: { hash: rng.hex(12) },
        commit,
        pullrequest: { id },
        selector: { type: "pull-requests", pattern: "**" },
      };
    }
  }
}
