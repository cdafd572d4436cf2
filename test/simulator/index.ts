// Entry point of the Bitbucket Cloud simulator: startSimulator() starts a seeded, deterministic server on 127.0.0.1.
//
// Steps, environments and deployments (reference §5, §6):
// * Every run has 1 to 5 steps, generated on first need from (seed, repository index, run uuid), consistent with the
//   run's state; finishRun / rerun / addRun keep them (and the deployment rows) in step.
// * Repositories at index 2, 6, 10, ... (index % 4 == 2) have no environments and no deployments; the others have
//   Test, Staging and Production.
// * Deploy steps ("Deploy to test|staging|production") back one deployment row each (repositories with
//   environments only): main-branch pipelines (Build, [Lint], Test, Deploy to staging, Deploy to production as a
//   manual gate), develop (.., Deploy to test), custom selectors matching /deploy|release|promote/
//   (Build, Deploy to <env from the name>, [Smoke test]) and addRun({ deploy }).
// * Repositories without environments rename the custom selectors "deploy-to-production" / "deploy-to-staging" to
//   "deploy-prod" / "deploy-staging" (their steps are still "Deploy to ..."), and their release/* runs end with a
//   "Deploy release" step: deployment-looking runs with no /deployments rows, for rule-based inference.
// * A deploy step that has not started (pending, a paused manual gate, halted, NOT_RUN after an earlier failure,
//   EXPIRED) shows as an UNDEPLOYED row.
//
// Commits (GET .../commits[/{revision}]?include=&exclude=, commits.ts):
// * Every repository has a git history written with its runs: a main branch that lands pull requests as merge
//   commits (two parents), develop, feature and release branches; authors with and without a Bitbucket account.
// * Every run's target.commit (and so every deployment's release.commit) is a commit of that history, of the run's
//   branch, dated before the run; addRun writes a new one. sim.commitsBetween() gives the expected sets.
// * Listings are `git log` newest first, `pagelen` 30 (max 100), an opaque `page` token in `next`, no size.

import { handleApi } from "./api.js";
import { gitCommitJson } from "./commits.js";
import { Dataset } from "./dataset.js";
import { SimServer } from "./server.js";
import type { SimCredential, Simulator, SimulatorOptions } from "./types.js";

export type {
  AccountJson,
  AddRunOptions,
  CompletedResult,
  DeployEnvironment,
  DeploymentJson,
  DeploymentReleaseJson,
  DeploymentStateJson,
  EnvironmentJson,
  Fault,
  FaultKind,
  GitCommitJson,
  PipelineJson,
  PipelineStateJson,
  PipelineTargetJson,
  RepositoryJson,
  RequestLogEntry,
  RunState,
  SimCredential,
  Simulator,
  SimulatorOptions,
  StepCommandJson,
  StepJson,
  StepResult,
  StepStateJson,
  TriggerKind,
} from "./types.js";

export const DEFAULT_CREDENTIALS: readonly SimCredential[] = [
  { kind: "bearer", token: "sim-token", scopes: ["repository", "pipeline"] },
  {
    kind: "basic",
    email: "dev@example.com",
    apiToken: "sim-api-token",
    scopes: ["read:repository:bitbucket", "read:pipeline:bitbucket"],
  },
];

export async function startSimulator(options: SimulatorOptions = {}): Promise<Simulator> {
  const seed = options.seed ?? 1;
  const workspace = options.workspace ?? "acme";
  const startMs = options.now ? options.now.getTime() : Math.floor(Date.now() / 1000) * 1000;
  let nowMs = startMs;
  const dataset = new Dataset({
    seed,
    workspace,
    repositories: options.repositories ?? 3,
    runsPerRepository: options.runsPerRepository ?? 25,
    startMs,
    nowMs: () => nowMs,
  });
  const credentials = (options.credentials ?? DEFAULT_CREDENTIALS).map((c) => ({ ...c, scopes: [...c.scopes] }));
  const server = new SimServer((req, origin) => handleApi({ dataset, origin, credentials }, req), options.latencyMs ?? 0);
  await server.listen(options.port ?? 0);
  const origin = server.origin;

  const render = (slug: string, uuid: string) => {
    const repo = dataset.requireRepo(slug);
    const run = dataset.findRun(repo, uuid);
    if (!run) throw new Error(`simulator: no run ${uuid} in '${slug}'`);
    return dataset.renderRun(repo, run);
  };

  return {
    url: `${origin}/2.0`,
    origin,
    workspace,
    requests: server.requests,
    clock: {
      now: () => new Date(nowMs),
      advance(ms: number): void {
        if (!Number.isFinite(ms) || ms < 0) throw new Error(`simulator: clock.advance needs a non-negative number, got ${ms}`);
        nowMs += ms;
      },
    },
    repositories: () => dataset.liveRepos().map((r) => dataset.renderRepo(r)),
    runs: (slug) => {
      const repo = dataset.requireRepo(slug);
      return dataset.runsOf(repo).map((r) => dataset.renderRun(repo, r));
    },
    addRun: (slug, opts) => render(slug, dataset.addRun(slug, opts).uuid),
    steps: (slug, uuid) => {
      const repo = dataset.requireRepo(slug);
      const run = dataset.findRun(repo, uuid);
      if (!run) throw new Error(`simulator: no run ${uuid} in '${slug}'`);
      return dataset.renderSteps(repo, run);
    },
    environments: (slug) => dataset.renderEnvironments(dataset.requireRepo(slug)),
    deployments: (slug) => dataset.renderDeployments(dataset.requireRepo(slug)),
    commitsBetween: (slug, revision, exclude = []) => {
      const repo = dataset.requireRepo(slug);
      const listed = dataset.commitsOf(repo).log([revision], typeof exclude === "string" ? [exclude] : exclude);
      if (!listed.ok) throw new Error(`simulator: no commit ${listed.missing.join(", ")} in '${slug}'`);
      return listed.commits.map((node) => gitCommitJson(repo.json, node));
    },
    finishRun: (slug, uuid, result = "SUCCESSFUL") => render(slug, dataset.finishRun(slug, uuid, result).uuid),
    rerun: (slug, uuid) => render(slug, dataset.rerun(slug, uuid).uuid),
    addRepository: (opts) => dataset.renderRepo(dataset.addRepository(opts?.slug)),
    touchRepository: (slug) => dataset.touchRepository(slug),
    deleteRepository: (slug) => dataset.deleteRepository(slug),
    disablePipelines: (slug) => dataset.disablePipelines(slug),
    hideEnvironments: (slug, which, opts) => dataset.hideEnvironments(slug, which, opts?.deleted ?? false),
    inject: (fault) => server.inject(fault),
    clearFaults: () => server.clearFaults(),
    close: () => server.close(),
  };
}
