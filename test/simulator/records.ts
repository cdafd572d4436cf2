// Internal records behind the API objects, and the helpers shared by generation and mutation.

import type { CommitGraph } from "./commits.js";
import { PIPELINE_ERRORS } from "./fixtures.js";
import type { Random } from "./random.js";
import type {
  AccountJson,
  CompletedResult,
  DeployEnvironment,
  EnvironmentJson,
  PipelineErrorJson,
  PipelineTargetJson,
  RepositoryJson,
  StepResult,
  TriggerJson,
  TriggerKind,
} from "./types.js";

export const SECOND = 1000;
export const MINUTE = 60 * SECOND;
export const DAY = 86_400_000;
export const FRACTION_DIGITS = [3, 3, 4, 5, 6, 6, 6, 7, 8, 9] as const;

export type RunStatus =
  | { state: "PENDING" }
  | { state: "IN_PROGRESS"; stage: "RUNNING" | "PAUSED" | "HALTED" }
  | { state: "COMPLETED"; result: CompletedResult; error?: PipelineErrorJson; terminator?: AccountJson };

export interface RunRecord {
  uuid: string;
  buildNumber: number;
  runNumber: number;
  creator: AccountJson | undefined;
  target: PipelineTargetJson;
  trigger: TriggerKind;
  status: RunStatus;
  createdMs: number;
  /** Nanoseconds below the millisecond, 0..999999. */
  createdSub: number;
  /** Fraction digits this run's timestamps are written with (3..9). */
  digits: number;
  /** Creation time of the current run (re-runs get a new one; sort=run_creation_date). */
  runCreatedMs: number;
  completedMs: number | undefined;
  completedSub: number;
  durationSeconds: number;
  /** Build seconds consumed by earlier runs of this pipeline (and by steps before a pause). */
  priorBuildSeconds: number;
  buildSecondsUsed: number;
  firstSuccessful: boolean;
  expired: boolean;
  hasVariables: boolean;
  /** Serialised JSON of a COMPLETED run (it no longer depends on the clock); cleared by every mutation. */
  cache: Buffer | undefined;
  /** The run's steps, generated on first need (steps.ts); kept in step with every mutation of the run. */
  steps?: StepRecord[];
  /** Set by addRun({ deploy }): the run is a two-step deploy pipeline to this environment. */
  deployEnv?: DeployEnvironment;
}

/** A new run, PENDING: what generation and addRun share. Draws its timestamp digits from `rng`. */
export function pendingRun(
  rng: Random,
  run: Pick<RunRecord, "uuid" | "buildNumber" | "creator" | "target" | "trigger" | "createdMs">,
): RunRecord {
  return {
    ...run,
    runNumber: 1,
    status: { state: "PENDING" },
    createdSub: rng.int(0, 999_999),
    digits: rng.pick(FRACTION_DIGITS),
    runCreatedMs: run.createdMs,
    completedMs: undefined,
    completedSub: 0,
    durationSeconds: 0,
    priorBuildSeconds: 0,
    buildSecondsUsed: 0,
    firstSuccessful: false,
    expired: false,
    hasVariables: false,
    cache: undefined,
  };
}

export type StepKind = "build" | "lint" | "test" | "combined" | "integration" | "scan" | "publish" | "deploy";

export type StepStatus =
  | { state: "PENDING"; stage?: "PAUSED" | "HALTED" }
  | { state: "IN_PROGRESS" }
  | { state: "COMPLETED"; result: StepResult; error?: { key: string; message: string } };

export interface StepRecord {
  uuid: string;
  /** undefined for an unnamed step. */
  name: string | undefined;
  kind: StepKind;
  /** The environment a deploy step deploys to (also in repositories without environments, for its script). */
  env: DeployEnvironment | undefined;
  manual: boolean;
  runNumber: number;
  status: StepStatus;
  startedMs: number | undefined;
  /** Nanoseconds below the millisecond of started_on / completed_on. */
  startedSub: number;
  completedMs: number | undefined;
  completedSub: number;
  /** Whole seconds the step ran (completed steps); build_seconds_used equals it. */
  durationSeconds: number;
  /** `version` of the deployment row this step backs; bumped on every change of its deployment state. */
  deployVersion: number;
}

export interface RepoRecord {
  index: number;
  json: RepositoryJson;
  createdMicros: number;
  updatedMicros: number;
  deleted: boolean;
  pipelinesDisabled: boolean;
  /** Sorted oldest first (created_on, then build_number); undefined until first needed. */
  runs: RunRecord[] | undefined;
  nextPullRequestId: number;
  /** Serialised repository JSON; cleared when the repository changes. */
  cache: Buffer | undefined;
  /** Serialised condensed repository embedded in its pipelines. */
  condensed: string | undefined;
  /** Deployment environments, generated on first need ([] for repositories without any). */
  environments?: EnvironmentJson[];
  /**
   * Set by hideEnvironments: the environments listing answers 404 (hiding all), or leaves these uuids out; `deleted`:
   * the deployments listing cannot embed the hidden ones either.
   */
  hiddenEnvironments?: { listing: "404" | ReadonlySet<string>; deleted: boolean };
  /** The git history, written with the runs (the runs' commits are in it). */
  commits?: CommitGraph;
}

export function compareRuns(a: RunRecord, b: RunRecord): number {
  return a.createdMs - b.createdMs || a.createdSub - b.createdSub || a.buildNumber - b.buildNumber;
}

export function triggerJson(kind: TriggerKind): TriggerJson {
  switch (kind) {
    case "push":
      return { type: "pipeline_trigger_push", name: "PUSH" };
    case "manual":
      return { type: "pipeline_trigger_manual", name: "MANUAL" };
    case "schedule":
      return { type: "pipeline_trigger_schedule", name: "SCHEDULE" };
  }
}

export function refKey(target: PipelineTargetJson): string {
  return target.type === "pipeline_ref_target" ? `${target.ref_type}:${target.ref_name}` : `pr:${target.source}`;
}

/** Marks `run` COMPLETED at `endMs` with `result` (adds the error / terminator members that result carries). */
export function completeRun(
  run: RunRecord,
  result: CompletedResult,
  endMs: number,
  rng: Random,
  users: readonly AccountJson[],
): void {
  const status: RunStatus = { state: "COMPLETED", result };
  if (result === "ERROR") status.error = { ...rng.pick(PIPELINE_ERRORS) };
  if (result === "STOPPED") status.terminator = rng.pick(users);
  run.status = status;
  run.completedMs = endMs;
  run.completedSub = rng.int(0, 999_999);
  run.durationSeconds = Math.max(0, Math.floor((endMs - run.runCreatedMs) / 1000));
  const overhead = Math.min(run.durationSeconds, rng.int(0, 15));
  run.buildSecondsUsed = result === "EXPIRED" ? run.priorBuildSeconds : run.priorBuildSeconds + run.durationSeconds - overhead;
}
