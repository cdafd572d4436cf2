// Pipeline steps (reference §5): each run's 1..5 steps, generated on first need from a per-run seed, kept consistent
// with the run's state through finishRun / rerun, and serialised like the real API. Deploy steps (those with an
// `env`) back the deployment rows built in deployments.ts.

import { deriveSeed, Random } from "./random.js";
import type { RepoRecord, RunRecord, StepKind, StepRecord } from "./records.js";
import { formatPipelineTime } from "./time.js";
import type { CompletedResult, DeployEnvironment, StepCommandJson, StepJson, StepStateJson } from "./types.js";

interface StepTemplate {
  name: string | undefined;
  kind: StepKind;
  env: DeployEnvironment | undefined;
  manual: boolean;
}

const step = (kind: StepKind, name: string | undefined, env?: DeployEnvironment, manual = false): StepTemplate => ({
  kind,
  name,
  env,
  manual,
});

/** Custom selector patterns whose pipeline deploys (e.g. "deploy-to-production", "deploy-prod", "release-staging"). */
const DEPLOYISH = /deploy|release|promote/i;

/** The environment a deploy pipeline/step name points at. */
export function environmentFromName(text: string): DeployEnvironment {
  if (/prod/i.test(text)) return "production";
  if (/stag/i.test(text)) return "staging";
  if (/test|qa|dev/i.test(text)) return "test";
  return "production";
}

const deployTo = (env: DeployEnvironment, manual = false): StepTemplate => step("deploy", `Deploy to ${env}`, env, manual);

/** The steps `bitbucket-pipelines.yml` would define for this run's target and selector. */
function planSteps(repo: RepoRecord, run: RunRecord, withEnvironments: boolean, rng: Random): StepTemplate[] {
  if (run.deployEnv) return [step("build", "Build"), deployTo(run.deployEnv)];
  const target = run.target;
  const selector = target.selector;
  const lint = rng.chance(0.4);
  const buildAndTest = (): StepTemplate[] =>
    lint ? [step("build", "Build"), step("lint", "Lint"), step("test", "Test")] : [step("build", "Build"), step("test", "Test")];
  if (selector.type === "custom") {
    if (DEPLOYISH.test(selector.pattern)) {
      const plan = [step("build", "Build"), deployTo(environmentFromName(selector.pattern))];
      if (rng.chance(0.3)) plan.push(step("test", "Smoke test"));
      return plan;
    }
    if (selector.pattern === "nightly") {
      const plan = [step("build", "Build"), step("integration", "Integration tests")];
      if (rng.chance(0.5)) plan.push(step("scan", "Security scan"));
      return plan;
    }
    return [step("build", "Build")];
  }
  if (target.type === "pipeline_pullrequest_target") return buildAndTest();
  if (selector.type === "default") {
    const shape = rng.int(0, 2);
    if (shape === 0) return [step("combined", undefined)]; // an unnamed `- step: script: ...`
    if (shape === 1) return [step("combined", "Build and test")];
    return [step("build", "Build"), step("test", "Test")];
  }
  if (selector.type === "tags") return [step("build", "Build"), step("publish", "Publish")];
  const branch = target.type === "pipeline_ref_target" ? target.ref_name : "";
  if (branch === repo.json.mainbranch.name) {
    return withEnvironments ? [...buildAndTest(), deployTo("staging"), deployTo("production", true)] : buildAndTest();
  }
  if (branch === "develop") return withEnvironments ? [...buildAndTest(), deployTo("test")] : buildAndTest();
  if (branch.startsWith("release/")) {
    return [
      ...buildAndTest(),
      withEnvironments ? step("publish", "Publish release") : step("deploy", "Deploy release", "production"),
    ];
  }
  return buildAndTest();
}

// ---------- generation ----------

/** Integer parts (each >= 0) of `total`, randomly weighted. */
function split(rng: Random, total: number, parts: number): number[] {
  const weights = Array.from({ length: parts }, () => 0.2 + rng.float());
  const sum = weights.reduce((a, b) => a + b, 0);
  const out = weights.map((w) => Math.floor((Math.max(0, total) * w) / sum));
  let rest = Math.max(0, total) - out.reduce((a, b) => a + b, 0);
  for (let i = 0; rest > 0; i = (i + 1) % parts, rest--) out[i] = (out[i] ?? 0) + 1;
  return out;
}

/**
 * Marks steps [from, to) COMPLETED SUCCESSFUL, one after the other inside [startMs, endMs]. Their durations add up
 * to `busySeconds` (default: most of the window). With `continueFirst` the first step keeps starting at `startMs`.
 */
function runSequence(
  steps: StepRecord[],
  from: number,
  to: number,
  startMs: number,
  endMs: number,
  busySeconds: number | undefined,
  rng: Random,
  continueFirst = false,
): void {
  const count = to - from;
  if (count <= 0) return;
  const window = Math.max(0, endMs - startMs);
  const maxBusy = Math.floor(window / 1000);
  const busy = Math.max(0, Math.min(maxBusy, busySeconds ?? Math.floor(maxBusy * (0.7 + 0.25 * rng.float()))));
  const durations = split(rng, busy, count);
  let idle = window - busy * 1000;
  // Keep a millisecond at both ends so a step never starts before its run or ends after it.
  const head = continueFirst ? 0 : Math.min(idle, 1);
  idle -= head;
  const tail = Math.min(idle, 1);
  idle -= tail;
  const gaps = split(rng, idle, count);
  let cursor = startMs + head;
  for (let i = 0; i < count; i++) {
    const s = steps[from + i];
    if (!s) continue;
    if (i > 0 || !continueFirst) cursor += gaps[i] ?? 0; // with continueFirst the unused first gap goes to the end
    const seconds = durations[i] ?? 0;
    s.startedMs = cursor;
    cursor += seconds * 1000;
    s.completedMs = cursor;
    s.durationSeconds = seconds;
    s.status = { state: "COMPLETED", result: "SUCCESSFUL" };
  }
}

function notRun(s: StepRecord): void {
  s.status = { state: "COMPLETED", result: "NOT_RUN" };
  s.startedMs = undefined;
  s.completedMs = undefined;
  s.durationSeconds = 0;
}

function lastIndex<T>(items: readonly T[], test: (item: T) => boolean): number {
  for (let i = items.length - 1; i >= 0; i--) {
    const item = items[i];
    if (item !== undefined && test(item)) return i;
  }
  return -1;
}

function at(steps: StepRecord[], i: number): StepRecord {
  const s = steps[i];
  if (!s) throw new Error(`simulator: no step #${i}`);
  return s;
}

/**
 * The run's steps as of `anchorMs` (the clock start for generated history, "now" for addRun), consistent with the
 * run's current state. Deterministic: a function of the seed, the repository index and the run uuid. With
 * `runDeployStep` (addRun) a RUNNING run is busy with its first deploy step, if it has one.
 */
export function generateSteps(
  seed: number,
  repo: RepoRecord,
  run: RunRecord,
  withEnvironments: boolean,
  anchorMs: number,
  runDeployStep = false,
): StepRecord[] {
  const rng = new Random(deriveSeed(seed, "steps", repo.index, run.uuid));
  const plan = planSteps(repo, run, withEnvironments, rng);
  const s = run.status;
  if (s.state === "IN_PROGRESS" && s.stage === "PAUSED" && !plan.some((p) => p.manual)) {
    // A paused run waits on a manual step: the deploy step is the gate, or a manual step closes the pipeline.
    const gate = plan[lastIndex(plan, (p) => p.kind === "deploy")];
    if (gate) gate.manual = true;
    else plan.push(step("publish", "Promote artifacts", undefined, true));
  }
  const steps: StepRecord[] = plan.map((p) => ({
    uuid: rng.uuid(),
    name: p.name,
    kind: p.kind,
    env: p.env,
    manual: p.manual,
    runNumber: run.runNumber,
    status: { state: "PENDING" },
    startedMs: undefined,
    startedSub: rng.int(0, 999_999),
    completedMs: undefined,
    completedSub: rng.int(0, 999_999),
    durationSeconds: 0,
    deployVersion: 1,
  }));
  const n = steps.length;
  const created = run.runCreatedMs;
  if (s.state === "IN_PROGRESS") {
    const end = Math.max(created, anchorMs);
    if (s.stage === "RUNNING") {
      const deployAt = run.deployEnv
        ? steps.findIndex((x) => x.env === run.deployEnv)
        : runDeployStep
          ? steps.findIndex((x) => x.kind === "deploy")
          : -1;
      const k = deployAt >= 0 ? deployAt : rng.int(0, n - 1);
      const share = k === 0 ? 0.3 * rng.float() : 0.4 + 0.5 * rng.float();
      const activeStart = created + Math.floor((end - created) * share);
      runSequence(steps, 0, k, created, activeStart, undefined, rng);
      const active = at(steps, k);
      active.status = { state: "IN_PROGRESS" };
      active.startedMs = activeStart;
    } else {
      const firstDeploy = steps.findIndex((x) => x.kind === "deploy");
      const k =
        s.stage === "PAUSED"
          ? steps.findIndex((x) => x.manual)
          : firstDeploy >= 0
            ? firstDeploy
            : rng.int(Math.min(1, n - 1), n - 1);
      runSequence(steps, 0, k, created, end, run.priorBuildSeconds, rng);
      at(steps, k).status = { state: "PENDING", stage: s.stage };
    }
  } else if (s.state === "COMPLETED") {
    const end = Math.max(created, run.completedMs ?? created);
    const busy = Math.max(0, run.buildSecondsUsed - run.priorBuildSeconds);
    if (s.result === "SUCCESSFUL") {
      runSequence(steps, 0, n, created, end, busy, rng);
    } else if (s.result === "EXPIRED") {
      const first = at(steps, 0);
      first.status = { state: "COMPLETED", result: "EXPIRED" };
      first.completedMs = end;
      steps.slice(1).forEach(notRun);
    } else {
      const f = rng.int(0, n - 1);
      runSequence(steps, 0, f + 1, created, end, busy, rng);
      const failed = at(steps, f);
      failed.status = {
        state: "COMPLETED",
        result: s.result,
        ...(s.error ? { error: { key: s.error.key, message: s.error.message } } : {}),
      };
      steps.slice(f + 1).forEach(notRun);
    }
  }
  for (const x of steps)
    x.deployVersion =
      1 + (x.startedMs !== undefined ? 1 : 0) + (x.startedMs !== undefined && x.status.state === "COMPLETED" ? 1 : 0);
  alignWithRun(steps, run);
  return steps;
}

/** Keeps sub-millisecond digits from putting a step before its run's creation or after its completion. */
function alignWithRun(steps: StepRecord[], run: RunRecord): void {
  for (const s of steps) {
    if (s.startedMs === run.runCreatedMs && run.runCreatedMs === run.createdMs)
      s.startedSub = Math.max(s.startedSub, run.createdSub);
    if (s.completedMs !== undefined && s.completedMs === run.completedMs)
      s.completedSub = Math.min(s.completedSub, run.completedSub);
    if (s.startedMs !== undefined && s.startedMs === s.completedMs && s.startedSub > s.completedSub)
      s.startedSub = s.completedSub;
  }
}

// ---------- mutations (called after the run itself changed) ----------

/** What a deployment row shows for the step; a change bumps the row's `version`. */
function deploymentKey(s: StepRecord): string {
  if (s.startedMs === undefined) return "U";
  if (s.status.state === "IN_PROGRESS") return `I:${s.startedMs}`;
  return s.status.state === "COMPLETED" ? `C:${s.status.result}:${s.startedMs}:${s.completedMs ?? ""}` : "U";
}

function tracked(steps: StepRecord[], change: () => void): void {
  const before = steps.map(deploymentKey);
  change();
  steps.forEach((s, i) => {
    const was = before[i] ?? "U";
    const now = deploymentKey(s);
    if (now !== was) s.deployVersion += was === "U" && now.startsWith("C:") ? 2 : 1;
  });
}

/**
 * finishRun: the current step (the running or first waiting one; when every step is done, the first that did not
 * succeed, else the last) ends with `result` at the run's completion time. SUCCESSFUL also runs the remaining
 * steps (manual gates included); any other result leaves the later steps NOT_RUN.
 */
export function finishSteps(steps: StepRecord[], run: RunRecord, result: CompletedResult, rng: Random): void {
  tracked(steps, () => {
    const n = steps.length;
    let a = steps.findIndex((s) => s.status.state !== "COMPLETED");
    if (a < 0) a = steps.findIndex((s) => s.status.state === "COMPLETED" && s.status.result !== "SUCCESSFUL");
    if (a < 0) a = n - 1;
    const current = at(steps, a);
    const end = Math.max(run.runCreatedMs, run.completedMs ?? run.runCreatedMs);
    const running = current.status.state === "IN_PROGRESS" && current.startedMs !== undefined;
    const previousEnd = a > 0 ? steps[a - 1]?.completedMs : undefined;
    const start = Math.min(
      end,
      running && current.startedMs !== undefined
        ? current.startedMs
        : Math.max(run.runCreatedMs, previousEnd ?? run.runCreatedMs),
    );
    for (let i = a; i < n; i++) at(steps, i).runNumber = Math.max(at(steps, i).runNumber, run.runNumber);
    if (result === "SUCCESSFUL") {
      runSequence(steps, a, n, start, end, undefined, rng, running);
    } else if (result === "EXPIRED") {
      current.status = { state: "COMPLETED", result: "EXPIRED" };
      current.startedMs = undefined;
      current.completedMs = end;
      current.durationSeconds = 0;
      steps.slice(a + 1).forEach(notRun);
    } else {
      const s = run.status;
      current.startedMs = start;
      current.completedMs = end;
      current.durationSeconds = Math.floor((end - start) / 1000);
      current.status = {
        state: "COMPLETED",
        result,
        ...(s.state === "COMPLETED" && s.error ? { error: { key: s.error.key, message: s.error.message } } : {}),
      };
      steps.slice(a + 1).forEach(notRun);
    }
  });
  alignWithRun(steps, run);
}

/**
 * rerun ("Rerun failed steps"): the steps from the first one that did not succeed (all of them when every step
 * succeeded) run again with the run's new run_number; the first of them is IN_PROGRESS from `nowMs`, the rest PENDING.
 */
export function rerunSteps(steps: StepRecord[], run: RunRecord, nowMs: number): void {
  tracked(steps, () => {
    let r = steps.findIndex((s) => !(s.status.state === "COMPLETED" && s.status.result === "SUCCESSFUL"));
    if (r < 0) r = 0;
    for (let i = r; i < steps.length; i++) {
      const s = at(steps, i);
      s.runNumber = run.runNumber;
      s.startedMs = i === r ? nowMs : undefined;
      s.completedMs = undefined;
      s.durationSeconds = 0;
      s.status = i === r ? { state: "IN_PROGRESS" } : { state: "PENDING" };
    }
  });
}

// ---------- serialisation ----------

interface Toolchain {
  image: string;
  install: string;
  build: string;
  test: string;
  lint: string;
  publish: string;
}

const DEFAULT_TOOLCHAIN: Toolchain = {
  image: "atlassian/default-image:4",
  install: "make deps",
  build: "make build",
  test: "make test",
  lint: "make lint",
  publish: "make release",
};

const NODE: Toolchain = {
  image: "node:20",
  install: "npm ci",
  build: "npm run build",
  test: "npm test -- --reporter=junit --reporter-option output=test-results/junit.xml",
  lint: "npm run lint",
  publish: "npm publish --access restricted",
};

const TOOLCHAINS: Record<string, Toolchain> = {
  typescript: NODE,
  javascript: NODE,
  go: {
    image: "golang:1.22",
    install: "go mod download",
    build: "go build -o bin/ ./...",
    test: "go test -race ./... 2>&1 | go-junit-report > test-results/report.xml",
    lint: "golangci-lint run --timeout 5m",
    publish: "goreleaser release --clean",
  },
  python: {
    image: "python:3.12",
    install: "pip install -r requirements.txt",
    build: "python -m build",
    test: "pytest -q --junitxml=test-results/junit.xml",
    lint: "ruff check .",
    publish: "twine upload dist/*",
  },
  java: {
    image: "maven:3.9-eclipse-temurin-21",
    install: "mvn -B -q dependency:go-offline",
    build: "mvn -B -DskipTests package",
    test: "mvn -B test",
    lint: "mvn -B checkstyle:check",
    publish: "mvn -B -DskipTests deploy",
  },
  kotlin: {
    image: "gradle:8.7-jdk21",
    install: "./gradlew --no-daemon dependencies",
    build: "./gradlew --no-daemon assemble",
    test: "./gradlew --no-daemon test",
    lint: "./gradlew --no-daemon ktlintCheck",
    publish: "./gradlew --no-daemon publish",
  },
};

const user = (command: string): StepCommandJson => ({ commandType: "user", command, name: command });

function scriptLines(s: StepRecord, tc: Toolchain, repo: RepoRecord): string[] {
  switch (s.kind) {
    case "build":
      return [tc.install, tc.build];
    case "lint":
      return [tc.install, tc.lint];
    case "test":
      return s.name === "Smoke test" ? [`./scripts/smoke-test.sh https://${repo.json.slug}.example.com`] : [tc.install, tc.test];
    case "combined":
      return [tc.install, tc.build, tc.test];
    case "integration":
      return [
        "docker compose -f docker-compose.ci.yml up -d",
        "./scripts/wait-for-it.sh localhost:5432 -t 60",
        "./scripts/integration-tests.sh",
      ];
    case "scan":
      return ["pipe: atlassian/git-secrets-scan:0.6.1"];
    case "publish":
      return [tc.build, tc.publish];
    case "deploy": {
      const env = s.env ?? "production";
      return [
        `export DEPLOY_ENV=${env}`,
        `./deploy.sh ${env}`,
        `curl -fsS -X POST -H "Authorization: Bearer $DEPLOY_HOOK_TOKEN" https://deploy.example.internal/hooks/${repo.json.slug}/${env}`,
      ];
    }
  }
}

function stateJson(s: StepRecord): StepStateJson {
  const st = s.status;
  switch (st.state) {
    case "PENDING":
      return {
        type: "pipeline_step_state_pending",
        name: "PENDING",
        ...(st.stage ? { stage: { type: `pipeline_step_state_pending_${st.stage.toLowerCase()}`, name: st.stage } } : {}),
        ...(s.manual && !st.stage ? { result: {} } : {}),
      };
    case "IN_PROGRESS":
      return { type: "pipeline_step_state_in_progress", name: "IN_PROGRESS" };
    case "COMPLETED":
      return {
        type: "pipeline_step_state_completed",
        name: "COMPLETED",
        result: {
          type: `pipeline_step_state_completed_${st.result.toLowerCase()}`,
          name: st.result,
          ...(st.error ? { error: { ...st.error } } : {}),
        },
      };
  }
}

/** The step as the API serialises it (a fresh object). */
export function stepJson(repo: RepoRecord, run: RunRecord, s: StepRecord, nowMs: number): StepJson {
  const tc = TOOLCHAINS[repo.json.language] ?? DEFAULT_TOOLCHAIN;
  const time = (ms: number, sub: number): string => formatPipelineTime(ms, sub, run.digits);
  let duration = 0;
  let buildSeconds = 0;
  if (s.status.state === "IN_PROGRESS" && s.startedMs !== undefined) {
    duration = Math.max(0, Math.floor((nowMs - s.startedMs) / 1000));
    buildSeconds = duration;
  } else if (s.status.state === "COMPLETED" && s.startedMs !== undefined) {
    duration = s.durationSeconds;
    buildSeconds = s.durationSeconds;
  }
  const t = run.target;
  const branch = t.type === "pipeline_pullrequest_target" ? t.source : t.ref_name;
  const hash = t.commit.hash;
  return {
    type: "pipeline_step",
    uuid: s.uuid,
    ...(s.name !== undefined ? { name: s.name } : {}),
    pipeline: { type: "pipeline", uuid: run.uuid },
    run_number: s.runNumber,
    trigger: { type: s.manual ? "pipeline_step_trigger_manual" : "pipeline_step_trigger_automatic" },
    state: stateJson(s),
    ...(s.startedMs !== undefined ? { started_on: time(s.startedMs, s.startedSub) } : {}),
    ...(s.completedMs !== undefined ? { completed_on: time(s.completedMs, s.completedSub) } : {}),
    duration_in_seconds: duration,
    build_seconds_used: buildSeconds,
    maxTime: s.kind === "deploy" ? 60 : 120,
    image: { name: s.kind === "deploy" || s.kind === "scan" ? DEFAULT_TOOLCHAIN.image : tc.image },
    setup_commands: [
      user("umask 000"),
      {
        commandType: "system",
        command: `GIT_LFS_SKIP_SMUDGE=1 retry 6 git clone --branch="${branch}" --depth 50 https://x-token-auth:$REPOSITORY_OAUTH_ACCESS_TOKEN@bitbucket.org/${repo.json.full_name}.git $BUILD_DIR`,
        name: "Clone",
      },
      { commandType: "system", command: `git reset --hard ${hash}`, name: `git reset --hard ${hash}` },
    ],
    script_commands: scriptLines(s, tc, repo).map(user),
    teardown_commands: [
      {
        commandType: "system",
        action: "PROCESS_TEST_REPORTS",
        command: 'echo "Processing test reports"',
        name: "Process Test Reports",
      },
    ],
  };
}
