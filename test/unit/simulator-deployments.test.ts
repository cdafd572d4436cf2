// The simulator's pipeline steps, environments and deployments must behave like the real API
// (shared/reference/bitbucket-api.md §5, §6 and quirks 14, 15, 18, 19).
import assert from "node:assert/strict";
import { describe, it } from "node:test";

import {
  type DeploymentJson,
  type EnvironmentJson,
  type PipelineJson,
  type Simulator,
  type SimulatorOptions,
  type StepJson,
  startSimulator,
} from "../simulator/index.js";

const NOW = new Date("2025-06-01T12:00:00Z");
const BEARER = "Bearer sim-token";
const TIME = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3,9}Z$/;
const BRACED = /^\{[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\}$/;

interface Page<T> {
  page?: number;
  pagelen?: number;
  size?: number;
  values: T[];
  next?: string;
}

async function withSim(opts: SimulatorOptions, body: (sim: Simulator) => Promise<void>): Promise<void> {
  const sim = await startSimulator({ now: NOW, ...opts });
  try {
    await body(sim);
  } finally {
    await sim.close();
  }
}

async function get(sim: Simulator, pathOrUrl: string, authorization = BEARER): Promise<{ status: number; text: string }> {
  const url = pathOrUrl.startsWith("http") ? pathOrUrl : `${sim.url}${pathOrUrl}`;
  const res = await fetch(url, { headers: { authorization } });
  return { status: res.status, text: await res.text() };
}

async function getJson<T>(sim: Simulator, pathOrUrl: string): Promise<T> {
  const res = await get(sim, pathOrUrl);
  assert.equal(res.status, 200, `GET ${pathOrUrl} -> ${res.status} ${res.text}`);
  return JSON.parse(res.text) as T;
}

/** Follows `next` verbatim from `first`; returns every page. */
async function walk<T>(sim: Simulator, first: string): Promise<Page<T>[]> {
  const pages: Page<T>[] = [];
  let url: string | undefined = first;
  while (url !== undefined) {
    const page: Page<T> = await getJson<Page<T>>(sim, url);
    pages.push(page);
    url = page.next;
    assert.ok(pages.length < 1000, "runaway paging");
  }
  return pages;
}

const enc = encodeURIComponent;
const stepsPath = (slug: string, uuid: string): string => `/repositories/acme/${slug}/pipelines/${enc(uuid)}/steps/`;
const ms = (iso: string): number => Date.parse(iso);

function runById(sim: Simulator, slug: string, uuid: string): PipelineJson {
  const run = sim.runs(slug).find((r) => r.uuid === uuid);
  assert.ok(run, `run ${uuid}`);
  return run;
}

function stepById(sim: Simulator, slug: string, pipelineUuid: string, stepUuid: string): StepJson {
  const step = sim.steps(slug, pipelineUuid).find((s) => s.uuid === stepUuid);
  assert.ok(step, `step ${stepUuid}`);
  return step;
}

function rowFor(sim: Simulator, slug: string, stepUuid: string): DeploymentJson {
  const row = sim.deployments(slug).find((d) => d.step.uuid === stepUuid);
  assert.ok(row, `deployment of step ${stepUuid}`);
  return row;
}

/** Steps before the k-th all succeeded; the ones after it are all `after`. */
function assertAround(results: string[], k: number, after: string, label: string): void {
  assert.ok(
    results.slice(0, k).every((r) => r === "SUCCESSFUL"),
    `${label}: ${results.join(",")}`,
  );
  assert.ok(
    results.slice(k + 1).every((r) => r === after),
    `${label}: ${results.join(",")}`,
  );
}

/** Asserts a run's steps agree with the run's state (reference §5 + the brief). */
function assertStepsMatchRun(run: PipelineJson, steps: StepJson[]): void {
  const label = `#${run.build_number} ${run.state.name}/${run.state.stage?.name ?? run.state.result?.name ?? ""}`;
  assert.ok(steps.length >= 1 && steps.length <= 5, `${label}: ${steps.length} steps`);
  const results: string[] = steps.map((s) => (s.state.name === "COMPLETED" ? (s.state.result?.name ?? "?") : s.state.name));
  const st = run.state;
  if (st.name === "PENDING") {
    assert.ok(
      steps.every((s) => s.state.name === "PENDING" && s.started_on === undefined),
      label,
    );
  } else if (st.name === "IN_PROGRESS" && st.stage?.name === "RUNNING") {
    const k = results.indexOf("IN_PROGRESS");
    assert.ok(k >= 0, `${label}: ${results.join(",")}`);
    assert.equal(results.filter((r) => r === "IN_PROGRESS").length, 1, label);
    assertAround(results, k, "PENDING", label);
  } else if (st.name === "IN_PROGRESS") {
    const stage = st.stage?.name ?? "";
    const k = steps.findIndex((s) => s.state.stage?.name === stage);
    assert.ok(k >= 0, `${label}: no ${stage} step`);
    const waiting = steps[k];
    assert.equal(waiting?.state.name, "PENDING");
    assert.equal(waiting?.state.stage?.type, `pipeline_step_state_pending_${stage.toLowerCase()}`);
    if (stage === "PAUSED")
      assert.equal(waiting?.trigger.type, "pipeline_step_trigger_manual", `${label}: a paused run waits on a manual step`);
    assertAround(results, k, "PENDING", label);
  } else {
    const result = st.result?.name ?? "";
    if (result === "SUCCESSFUL")
      assert.ok(
        results.every((r) => r === "SUCCESSFUL"),
        `${label}: ${results.join(",")}`,
      );
    else {
      const f = results.indexOf(result);
      assert.ok(f >= 0, `${label}: ${results.join(",")}`);
      assertAround(results, f, "NOT_RUN", label);
      if (result === "ERROR") assert.equal(typeof steps[f]?.state.result?.error?.key, "string");
    }
  }
}

/** Asserts the §6.3 join and that the row's state follows its step. */
function assertJoin(sim: Simulator, slug: string, row: DeploymentJson, environments: EnvironmentJson[]): void {
  const run = runById(sim, slug, row.release.pipeline.uuid);
  const step = stepById(sim, slug, run.uuid, row.step.uuid);
  assert.equal(row.type, "deployment");
  assert.match(row.uuid, /^\{[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}\}$/);
  assert.equal(row.key, `steps-${step.uuid}`);
  assert.deepEqual(Object.keys(row.step), ["uuid"]);
  assert.deepEqual(Object.keys(row.environment), ["uuid"], "environment is condensed (quirk 14)");
  const env = environments.find((e) => e.uuid === row.environment.uuid);
  assert.ok(env, "environment uuid resolves through /environments");
  assert.equal(step.name, `Deploy to ${env.slug}`);
  assert.equal(row.release.type, "deployment_release");
  assert.equal(row.release.key, `pipelines-${run.uuid}`);
  assert.equal(row.release.name, `#${run.build_number}`);
  assert.equal(row.release.commit.hash, run.target.commit.hash);
  assert.equal(row.release.created_on, run.created_on);
  assert.equal(row.release.url, `https://bitbucket.org/acme/${slug}/addon/pipelines/home#!/results/${run.build_number}`);
  assert.deepEqual(row.deployable, row.release);
  assert.ok(Number.isInteger(row.version) && row.version >= 1);
  const st = row.state;
  if (step.started_on === undefined) {
    assert.deepEqual(st, { type: "deployment_state_undeployed", name: "UNDEPLOYED", status: {} });
    assert.equal(row.last_update_time, undefined);
  } else if (st.name === "IN_PROGRESS") {
    assert.equal(step.state.name, "IN_PROGRESS");
    assert.equal(st.type, "deployment_state_in_progress");
    assert.equal(st.started_on, step.started_on);
    assert.equal(row.last_update_time, step.started_on);
    assert.equal(st.url, `${row.release.url}/steps/${enc(step.uuid)}`);
  } else {
    assert.equal(st.name, "COMPLETED", JSON.stringify(st));
    const expected =
      step.state.result?.name === "SUCCESSFUL" ? "SUCCESSFUL" : step.state.result?.name === "STOPPED" ? "STOPPED" : "FAILED";
    assert.deepEqual(st.status, { type: `deployment_state_completed_${expected.toLowerCase()}`, name: expected });
    assert.equal(st.started_on, step.started_on);
    assert.equal(st.completed_on, step.completed_on);
    assert.equal(row.last_update_time, step.completed_on);
    assert.match(st.completed_on, TIME);
  }
}

describe("simulator: pipeline steps", () => {
  it("pages steps (both path forms) and serves one step by uuid", async () => {
    await withSim({}, async (sim) => {
      const run = sim.runs("web-app").find((r) => sim.steps("web-app", r.uuid).length >= 3);
      assert.ok(run, "a run with 3+ steps");
      const expected = sim.steps("web-app", run.uuid);
      const pages = await walk<StepJson>(sim, `${stepsPath("web-app", run.uuid)}?pagelen=2`);
      assert.equal(pages.length, Math.ceil(expected.length / 2));
      assert.deepEqual(
        pages.flatMap((p) => p.values),
        expected,
      );
      const [first] = pages;
      assert.deepEqual([first?.page, first?.pagelen, first?.size], [1, 2, expected.length]);
      assert.equal(first?.next, `${sim.url}${stepsPath("web-app", run.uuid)}?page=2&pagelen=2`);
      assert.equal(pages.at(-1)?.next, undefined);
      const defaults = await getJson<Page<StepJson>>(sim, stepsPath("web-app", run.uuid));
      assert.deepEqual([defaults.pagelen, defaults.size, defaults.values], [10, expected.length, expected]);
      // The real API serves the Pipelines service's collections only with the trailing slash (API notes §3.1).
      const slashless = await get(sim, stepsPath("web-app", run.uuid).slice(0, -1));
      assert.equal(slashless.status, 404);
      assert.match(slashless.text, /There is no API hosted at this URL/);
      for (const collection of ["environments", "deployments"]) {
        const response = await get(sim, `/repositories/acme/web-app/${collection}`);
        assert.equal(response.status, 404, collection);
        assert.match(response.text, /There is no API hosted at this URL/);
      }
      assert.equal(
        (await get(sim, "/repositories/acme/web-app/pipelines")).status,
        200,
        "the pipelines listing answers both forms",
      );
      const big = await getJson<Page<StepJson>>(sim, `${stepsPath("web-app", run.uuid)}?pagelen=500`);
      assert.equal(big.pagelen, 100);

      const one = expected[1];
      assert.ok(one);
      assert.deepEqual(await getJson<StepJson>(sim, `${stepsPath("web-app", run.uuid)}${enc(one.uuid)}`), one);
      const unknownStep = await get(sim, `${stepsPath("web-app", run.uuid)}${enc("{00000000-0000-4000-8000-000000000000}")}`);
      assert.equal(unknownStep.status, 404);
      const unknownRun = await get(sim, stepsPath("web-app", "{00000000-0000-4000-8000-000000000000}"));
      assert.equal(unknownRun.status, 404);
      assert.match(unknownRun.text, /result-service\.pipeline\.not-found/);
      const bad = await get(sim, `${stepsPath("web-app", run.uuid)}?pagelen=x`);
      assert.equal(bad.status, 400);
    });
  });

  it("builds step objects as §5 (camelCase maxTime, commandType, commands)", async () => {
    await withSim({ repositories: 12, runsPerRepository: 40 }, async (sim) => {
      const all: StepJson[] = [];
      const scripts: string[] = [];
      for (const repo of sim.repositories()) {
        for (const run of sim.runs(repo.slug)) {
          const steps = sim.steps(repo.slug, run.uuid);
          for (const s of steps) {
            assert.equal(s.type, "pipeline_step");
            assert.match(s.uuid, BRACED);
            assert.deepEqual(s.pipeline, { type: "pipeline", uuid: run.uuid });
            assert.equal(s.run_number, 1);
            assert.match(s.trigger.type, /^pipeline_step_trigger_(automatic|manual)$/);
            assert.equal(typeof s.maxTime, "number");
            assert.ok(!("max_time" in s), "no snake_case max_time");
            assert.equal(typeof s.image.name, "string");
            for (const list of [s.setup_commands, s.script_commands, s.teardown_commands]) {
              assert.ok(Array.isArray(list) && list.length > 0);
              for (const c of list) {
                assert.ok(c.commandType === "user" || c.commandType === "system");
                assert.equal(typeof c.command, "string");
                assert.equal(typeof c.name, "string");
              }
            }
            scripts.push(...s.script_commands.map((c) => c.command));
            assert.equal(
              s.started_on === undefined,
              s.state.name === "PENDING" || s.state.result?.name === "NOT_RUN" || s.state.result?.name === "EXPIRED",
            );
            assert.equal(s.completed_on !== undefined, s.state.name === "COMPLETED" && s.state.result?.name !== "NOT_RUN");
            if (s.started_on !== undefined) {
              assert.match(s.started_on, TIME);
              assert.ok(ms(s.started_on) >= ms(run.created_on), "a step starts after its run is created");
            }
            if (s.completed_on !== undefined) {
              assert.match(s.completed_on, TIME);
              assert.ok(
                ms(s.completed_on) <= (run.completed_on === undefined ? NOW.getTime() : ms(run.completed_on)),
                "a step ends before its run",
              );
            }
            if (s.state.name === "PENDING") assert.equal(s.build_seconds_used, 0);
          }
          assertStepsMatchRun(run, steps);
          if (run.state.name === "COMPLETED") {
            const used = steps.reduce((sum, s) => sum + s.build_seconds_used, 0);
            assert.equal(used, run.build_seconds_used, `#${run.build_number}: step build seconds add up to the run's`);
          }
          all.push(...steps);
        }
      }
      const stepResults = new Set(
        all.map((s) => (s.state.name === "COMPLETED" ? s.state.result?.name : `${s.state.name}/${s.state.stage?.name ?? ""}`)),
      );
      for (const r of ["SUCCESSFUL", "FAILED", "ERROR", "STOPPED", "NOT_RUN", "IN_PROGRESS/", "PENDING/"])
        assert.ok(stepResults.has(r), `${r} in ${[...stepResults].join(",")}`);
      assert.ok(
        all.some((s) => s.name === undefined),
        "some steps are unnamed",
      );
      // Manual gates (main-branch production deploys); a PAUSED run waiting on one is checked by assertStepsMatchRun.
      assert.ok(
        all.some((s) => s.trigger.type === "pipeline_step_trigger_manual" && s.state.result?.name === "SUCCESSFUL"),
        "a manual gate that ran",
      );
      assert.ok(all.some((s) => s.teardown_commands.some((c) => c.action === "PROCESS_TEST_REPORTS")));
      assert.ok(scripts.includes("npm ci"));
      assert.ok(scripts.includes("./deploy.sh production"));
    });
  });

  it("drops fields excluded with fields=-values.<name>, ignores the rest", async () => {
    await withSim({}, async (sim) => {
      const run = sim.runs("web-app").at(-1);
      assert.ok(run);
      const fields = enc("-values.setup_commands,-values.script_commands,-values.teardown_commands,values.uuid");
      const page = await getJson<Page<Record<string, unknown>>>(sim, `${stepsPath("web-app", run.uuid)}?fields=${fields}`);
      assert.ok(page.values.length > 0);
      for (const s of page.values) {
        assert.ok(!("script_commands" in s) && !("setup_commands" in s) && !("teardown_commands" in s));
        assert.equal(typeof s.maxTime, "number");
      }
    });
  });

  it("needs the pipeline scope and follows disablePipelines", async () => {
    await withSim(
      {
        credentials: [
          { kind: "bearer", token: "repo-only", scopes: ["repository"] },
          { kind: "bearer", token: "sim-token", scopes: ["pipeline"] },
        ],
      },
      async (sim) => {
        const run = sim.runs("web-app")[0];
        assert.ok(run);
        for (const path of [
          stepsPath("web-app", run.uuid),
          "/repositories/acme/web-app/environments/",
          "/repositories/acme/web-app/deployments/",
        ]) {
          const denied = await get(sim, path, "Bearer repo-only");
          assert.equal(denied.status, 403, path);
          assert.match(denied.text, /"required":\["pipeline"\]/);
        }
        sim.disablePipelines("web-app");
        for (const path of [
          stepsPath("web-app", run.uuid),
          "/repositories/acme/web-app/environments/",
          "/repositories/acme/web-app/deployments/",
        ]) {
          assert.equal((await get(sim, path)).status, 404, path);
        }
      },
    );
  });
});

describe("simulator: environments", () => {
  it("lists Test, Staging, Production as §6.2, paged; none in some repositories", async () => {
    await withSim({ repositories: 4 }, async (sim) => {
      const envs = sim.environments("web-app");
      assert.deepEqual(
        envs.map((e) => [e.name, e.slug, e.rank, e.environment_type.name, e.environment_type.rank, e.category.name]),
        [
          ["Test", "test", 0, "Test", 0, "Test"],
          ["Staging", "staging", 1, "Staging", 1, "Staging"],
          ["Production", "production", 2, "Production", 2, "Production"],
        ],
      );
      for (const e of envs) {
        assert.deepEqual(Object.keys(e), [
          "type",
          "uuid",
          "name",
          "slug",
          "environment_type",
          "category",
          "rank",
          "hidden",
          "lock",
          "environment_lock_enabled",
          "deployment_gate_enabled",
          "restrictions",
        ]);
        assert.equal(e.type, "deployment_environment");
        assert.match(e.uuid, BRACED);
        assert.equal(e.environment_type.type, "deployment_environment_type");
        assert.equal(e.hidden, false);
        assert.deepEqual(e.lock, { type: "deployment_environment_lock_open", name: "OPEN" });
        assert.equal(typeof e.environment_lock_enabled, "boolean");
        assert.equal(typeof e.deployment_gate_enabled, "boolean");
        assert.equal(e.restrictions.type, "deployment_restrictions_configuration");
        assert.equal(typeof e.restrictions.admin_only, "boolean");
      }
      const pages = await walk<EnvironmentJson>(sim, "/repositories/acme/web-app/environments/?pagelen=2&fields=values.name");
      assert.deepEqual(
        pages.map((p) => p.values.length),
        [2, 1],
      );
      assert.deepEqual(
        pages.flatMap((p) => p.values),
        envs,
      );
      assert.equal(pages[0]?.next, `${sim.url}/repositories/acme/web-app/environments/?pagelen=2&fields=values.name&page=2`);
      const slash = await getJson<Page<EnvironmentJson>>(sim, "/repositories/acme/web-app/environments/");
      assert.deepEqual([slash.page, slash.pagelen, slash.size, slash.values], [1, 10, 3, envs]);
      const prod = envs[2];
      assert.ok(prod);
      assert.deepEqual(await getJson<EnvironmentJson>(sim, `/repositories/acme/web-app/environments/${enc(prod.uuid)}`), prod);
      assert.equal(
        (await get(sim, `/repositories/acme/web-app/environments/${enc("{00000000-0000-4000-8000-000000000000}")}`)).status,
        404,
      );

      assert.deepEqual(sim.environments("mobile-app"), []);
      const none = await getJson<Page<EnvironmentJson>>(sim, "/repositories/acme/mobile-app/environments/");
      assert.deepEqual([none.size, none.values], [0, []]);
      assert.equal(sim.environments("data-pipeline").length, 3);
    });
  });
});

describe("simulator: deployments", () => {
  it("pages every row through next links; unknown parameters are ignored", async () => {
    await withSim({ runsPerRepository: 60 }, async (sim) => {
      const expected = sim.deployments("web-app");
      assert.ok(expected.length > 10, `${expected.length} rows`);
      const pages = await walk<DeploymentJson>(sim, "/repositories/acme/web-app/deployments/?pagelen=7");
      assert.equal(pages.length, Math.ceil(expected.length / 7));
      assert.deepEqual(
        pages.flatMap((p) => p.values),
        expected,
      );
      assert.deepEqual([pages[0]?.page, pages[0]?.pagelen, pages[0]?.size], [1, 7, expected.length]);
      assert.equal(pages[0]?.next, `${sim.url}/repositories/acme/web-app/deployments/?pagelen=7&page=2`);
      const plain = await getJson<Page<DeploymentJson>>(sim, "/repositories/acme/web-app/deployments/?pagelen=100");
      assert.deepEqual(plain.values, expected);
      const env = sim.environments("web-app")[2]?.uuid ?? "";
      const ignored = await getJson<Page<DeploymentJson>>(
        sim,
        `/repositories/acme/web-app/deployments/?pagelen=100&sort=-state.started_on&environment=${enc(env)}&state.name=COMPLETED&q=${enc('state.name="COMPLETED"')}`,
      );
      assert.deepEqual(ignored.values, expected, "no filter or sort support");
      assert.equal(
        (await getJson<Page<DeploymentJson>>(sim, "/repositories/acme/web-app/deployments/?pagelen=1000")).pagelen,
        100,
      );
      const first = expected[0];
      assert.ok(first);
      assert.deepEqual(await getJson<DeploymentJson>(sim, `/repositories/acme/web-app/deployments/${enc(first.uuid)}`), first);
      assert.equal(
        (await get(sim, `/repositories/acme/web-app/deployments/${enc("{00000000-0000-5000-8000-000000000000}")}`)).status,
        404,
      );
    });
  });

  it("joins exactly to steps and runs, with condensed environments and UNDEPLOYED placeholders", async () => {
    await withSim({ repositories: 8, runsPerRepository: 100 }, async (sim) => {
      const states = new Set<string>();
      for (const repo of sim.repositories()) {
        const rows = sim.deployments(repo.slug);
        const environments = sim.environments(repo.slug);
        if (environments.length === 0) {
          assert.deepEqual(rows, [], repo.slug);
          continue;
        }
        const keys = new Set<string>();
        for (const row of rows) {
          assertJoin(sim, repo.slug, row, environments);
          states.add(row.state.name === "COMPLETED" ? `COMPLETED/${row.state.status.name}` : row.state.name);
          assert.ok(!keys.has(row.uuid), "deployment uuids are unique");
          keys.add(row.uuid);
        }
        // Every deploy step of a repository with environments has exactly one row.
        for (const run of sim.runs(repo.slug)) {
          for (const step of sim.steps(repo.slug, run.uuid)) {
            const isDeploy = step.name !== undefined && /^Deploy to (test|staging|production)$/.test(step.name);
            assert.equal(
              rows.filter((d) => d.step.uuid === step.uuid).length,
              isDeploy ? 1 : 0,
              `${repo.slug} #${run.build_number} ${step.name ?? ""}`,
            );
          }
        }
      }
      for (const s of ["COMPLETED/SUCCESSFUL", "COMPLETED/FAILED", "UNDEPLOYED"])
        assert.ok(states.has(s), `${s} in ${[...states].join(",")}`);
    });
  });

  it("gives repositories without environments deployment-looking runs but no rows", async () => {
    await withSim({ repositories: 12, runsPerRepository: 60 }, async (sim) => {
      const without = sim.repositories().filter((r) => sim.environments(r.slug).length === 0);
      assert.deepEqual(
        without.map((r) => r.slug),
        ["mobile-app", "auth-service", "service-03"],
      );
      let byPattern = 0;
      let byBranch = 0;
      for (const repo of without) {
        assert.deepEqual(sim.deployments(repo.slug), []);
        const page = await getJson<Page<DeploymentJson>>(sim, `/repositories/acme/${repo.slug}/deployments/`);
        assert.deepEqual([page.size, page.values], [0, []]);
        for (const run of sim.runs(repo.slug)) {
          const sel = run.target.selector;
          const names = sim.steps(repo.slug, run.uuid).map((s) => s.name ?? "");
          if (sel.type === "custom" && sel.pattern === "deploy-prod") {
            byPattern++;
            assert.ok(names.includes("Deploy to production"), names.join(","));
          }
          if (run.target.type === "pipeline_ref_target" && run.target.ref_name.startsWith("release/")) {
            byBranch++;
            assert.ok(names.includes("Deploy release"), names.join(","));
          }
          assert.ok(!(sel.type === "custom" && sel.pattern.startsWith("deploy-to-")), "terse custom patterns here");
        }
      }
      assert.ok(byPattern > 0 && byBranch > 0, `deploy-prod runs ${byPattern}, release/* runs ${byBranch}`);
    });
  });
});

describe("simulator: deployments' environments", () => {
  it("embeds the environment's name and type on fields=+values.environment…, as the real API does", async () => {
    await withSim({}, async (sim) => {
      const rows = sim.deployments("web-app");
      assert.ok(rows.length > 0);
      assert.ok(
        rows.every((r) => Object.keys(r.environment).join() === "uuid"),
        "condensed by default",
      );
      const envs = new Map(sim.environments("web-app").map((e) => [e.uuid, e]));
      const fields = "+values.environment.name,+values.environment.environment_type.name";
      const page = await getJson<Page<DeploymentJson>>(
        sim,
        `/repositories/acme/web-app/deployments/?pagelen=100&fields=${enc(fields)}`,
      );
      assert.equal(page.values.length, rows.length);
      for (const row of page.values) {
        const env = envs.get(row.environment.uuid);
        assert.ok(env);
        assert.deepEqual(row.environment, {
          uuid: env.uuid,
          name: env.name,
          environment_type: { name: env.environment_type.name },
        });
      }
      // An unencoded "+" arrives as a space: a plain entry, which the simulator ignores.
      const unencoded = await getJson<Page<DeploymentJson>>(
        sim,
        `/repositories/acme/web-app/deployments/?pagelen=100&fields=${fields}`,
      );
      assert.deepEqual(unencoded.values, rows);
      const one = await getJson<DeploymentJson>(
        sim,
        `/repositories/acme/web-app/deployments/${enc(rows[0]!.uuid)}?fields=${enc("+environment.name")}`,
      );
      assert.equal(one.environment.name, envs.get(rows[0]!.environment.uuid)?.name);
    });
  });

  it("hideEnvironments empties the listing, answers it 404 or leaves some out (deleted: not embedded either); deployments stay", async () => {
    await withSim({ repositories: 4 }, async (sim) => {
      const listing = async (slug: string) => {
        const res = await get(sim, `/repositories/acme/${slug}/environments/`);
        return res.status === 200 ? (JSON.parse(res.text) as Page<EnvironmentJson>).values.map((e) => e.name) : res.status;
      };
      const rows = sim.deployments("web-app").length;
      const [test, staging] = sim.environments("web-app");
      sim.hideEnvironments("web-app", [staging!.uuid]);
      assert.deepEqual(await listing("web-app"), ["Test", "Production"]);
      assert.equal((await get(sim, `/repositories/acme/web-app/environments/${enc(staging!.uuid)}`)).status, 404);
      assert.equal((await get(sim, `/repositories/acme/web-app/environments/${enc(test!.uuid)}`)).status, 200);
      sim.hideEnvironments("web-app", "all");
      assert.deepEqual(await listing("web-app"), []);
      sim.hideEnvironments("web-app", "404");
      assert.equal(await listing("web-app"), 404);
      assert.equal(sim.environments("web-app").length, 3, "environments() still has every one");
      const page = await getJson<Page<DeploymentJson>>(
        sim,
        `/repositories/acme/web-app/deployments/?pagelen=100&fields=${enc("+values.environment.name")}`,
      );
      assert.equal(page.values.length, rows);
      assert.ok(page.values.every((d) => typeof d.environment.name === "string"));
      assert.deepEqual(await listing("data-pipeline"), ["Test", "Staging", "Production"], "other repositories unchanged");
      sim.hideEnvironments("web-app", [staging!.uuid], { deleted: true });
      const deleted = await getJson<Page<DeploymentJson>>(
        sim,
        `/repositories/acme/web-app/deployments/?pagelen=100&fields=${enc("+values.environment.name")}`,
      );
      assert.equal(deleted.values.length, rows, "a deleted environment's deployments stay");
      assert.ok(deleted.values.some((d) => d.environment.uuid === staging!.uuid));
      for (const d of deleted.values) {
        assert.equal(d.environment.name === undefined, d.environment.uuid === staging!.uuid, "only the deleted one is bare");
      }
    });
  });

  it("addRun({ tag }) runs on a tag: a tags selector for a push, custom for a custom pipeline", async () => {
    await withSim({}, async (sim) => {
      const push = sim.addRun("web-app", { tag: "deploy-2025.06", tagSelector: "deploy-*" });
      assert.deepEqual(
        [push.target.type, "ref_type" in push.target && push.target.ref_type, "ref_name" in push.target && push.target.ref_name],
        ["pipeline_ref_target", "tag", "deploy-2025.06"],
      );
      assert.deepEqual(push.target.selector, { type: "tags", pattern: "deploy-*" });
      assert.deepEqual(sim.addRun("web-app", { tag: "v1.2.3" }).target.selector, { type: "tags", pattern: "v*" });
      const custom = sim.addRun("web-app", { tag: "v1.2.3", deploy: "production" });
      assert.deepEqual(custom.target.selector, { type: "custom", pattern: "deploy-to-production" });
      assert.equal("ref_type" in custom.target && custom.target.ref_type, "tag");
      assert.ok(sim.deployments("web-app").some((d) => d.release.pipeline.uuid === custom.uuid));
    });
  });
});

describe("simulator: steps and deployments follow the control methods", () => {
  it("addRun({ deploy }) starts an IN_PROGRESS deployment; finishRun completes it", async () => {
    await withSim({}, async (sim) => {
      const before = sim.deployments("web-app");
      sim.clock.advance(60_000);
      const run = sim.addRun("web-app", { deploy: "production", createdOn: new Date(NOW.getTime()) });
      assert.equal(run.state.name, "IN_PROGRESS");
      assert.equal(run.state.stage?.name, "RUNNING");
      assert.deepEqual(run.target.selector, { type: "custom", pattern: "deploy-to-production" });
      assert.equal(run.trigger.name, "MANUAL");
      const steps = sim.steps("web-app", run.uuid);
      assert.deepEqual(
        steps.map((s) => [s.name, s.state.name, s.state.result?.name]),
        [
          ["Build", "COMPLETED", "SUCCESSFUL"],
          ["Deploy to production", "IN_PROGRESS", undefined],
        ],
      );
      const deploy = steps[1];
      assert.ok(deploy?.started_on);
      const list = await getJson<Page<DeploymentJson>>(sim, "/repositories/acme/web-app/deployments/?pagelen=100");
      assert.equal(list.size, before.length + 1);
      const row = list.values.find((d) => d.step.uuid === deploy.uuid);
      assert.ok(row);
      assert.equal(row.state.name, "IN_PROGRESS");
      assert.equal(row.version, 2);
      assert.equal(row.environment.uuid, sim.environments("web-app").find((e) => e.slug === "production")?.uuid);
      assertJoin(sim, "web-app", row, sim.environments("web-app"));

      sim.clock.advance(90_000);
      const done = sim.finishRun("web-app", run.uuid);
      const finished = sim.steps("web-app", run.uuid);
      assert.ok(finished.every((s) => s.state.result?.name === "SUCCESSFUL"));
      assert.equal(finished[1]?.started_on, deploy.started_on, "a running step keeps its start");
      const after = await getJson<Page<DeploymentJson>>(sim, "/repositories/acme/web-app/deployments/?pagelen=100");
      const completed = after.values.find((d) => d.step.uuid === deploy.uuid);
      assert.ok(completed && completed.state.name === "COMPLETED");
      assert.equal(completed.state.status.name, "SUCCESSFUL");
      assert.equal(completed.state.completed_on, finished[1]?.completed_on);
      assert.ok(
        ms(completed.state.completed_on) > ms(deploy.started_on) &&
          ms(completed.state.completed_on) <= ms(done.completed_on ?? ""),
      );
      assert.ok(ms(completed.state.completed_on) > sim.clock.now().getTime() - 90_000, "it ran until about now");
      assert.equal(completed.version, 3);
      assertJoin(sim, "web-app", completed, sim.environments("web-app"));
    });
  });

  it("finishRun FAILED, then rerun bumps run_number of the re-run steps", async () => {
    await withSim({}, async (sim) => {
      const run = sim.addRun("web-app", { deploy: "staging", createdOn: new Date(NOW.getTime() - 120_000) });
      const [build, deploy] = sim.steps("web-app", run.uuid);
      assert.ok(build && deploy);
      assert.ok(build.started_on && ms(build.started_on) >= NOW.getTime() - 120_000);
      sim.clock.advance(30_000);
      sim.finishRun("web-app", run.uuid, "FAILED");
      assert.deepEqual(
        sim.steps("web-app", run.uuid).map((s) => s.state.result?.name),
        ["SUCCESSFUL", "FAILED"],
      );
      const failed = rowFor(sim, "web-app", deploy.uuid);
      assert.ok(failed.state.name === "COMPLETED" && failed.state.status.name === "FAILED");
      assert.equal(failed.state.status.type, "deployment_state_completed_failed");

      sim.clock.advance(60_000);
      const again = sim.rerun("web-app", run.uuid);
      assert.equal(again.run_number, 2);
      const rerun = sim.steps("web-app", run.uuid);
      assert.deepEqual(
        rerun.map((s) => [s.uuid, s.run_number, s.state.name]),
        [
          [build.uuid, 1, "COMPLETED"],
          [deploy.uuid, 2, "IN_PROGRESS"],
        ],
      );
      assert.equal(ms(rerun[1]?.started_on ?? ""), sim.clock.now().getTime());
      const restarted = rowFor(sim, "web-app", deploy.uuid);
      assert.equal(restarted.state.name, "IN_PROGRESS");
      assert.ok(restarted.version > failed.version);
      assertJoin(sim, "web-app", restarted, sim.environments("web-app"));
      const viaHttp = await getJson<Page<StepJson>>(sim, stepsPath("web-app", run.uuid));
      assert.deepEqual(viaHttp.values, rerun);

      sim.clock.advance(45_000);
      sim.finishRun("web-app", run.uuid, "SUCCESSFUL");
      const ok = rowFor(sim, "web-app", deploy.uuid);
      assert.ok(ok.state.name === "COMPLETED" && ok.state.status.name === "SUCCESSFUL");
      assert.ok(
        ms(ok.state.completed_on) <= sim.clock.now().getTime() && ms(ok.state.started_on) === ms(rerun[1]?.started_on ?? ""),
      );
      assertStepsMatchRun(runById(sim, "web-app", run.uuid), sim.steps("web-app", run.uuid));
    });
  });

  it("a main-branch run has UNDEPLOYED rows until it runs; a paused run's production gate stays UNDEPLOYED", async () => {
    await withSim({}, async (sim) => {
      const pending = sim.addRun("web-app");
      const rows = sim.deployments("web-app").filter((d) => d.release.pipeline.uuid === pending.uuid);
      assert.equal(rows.length, 2, "staging and production");
      assert.ok(rows.every((d) => d.state.name === "UNDEPLOYED" && d.last_update_time === undefined && d.version === 1));
      sim.clock.advance(200_000);
      sim.finishRun("web-app", pending.uuid);
      const done = sim.deployments("web-app").filter((d) => d.release.pipeline.uuid === pending.uuid);
      assert.ok(
        done.every((d) => d.state.name === "COMPLETED" && d.version === 3),
        JSON.stringify(done.map((d) => d.state)),
      );

      const paused = sim.addRun("web-app", { state: "PAUSED", createdOn: new Date(sim.clock.now().getTime() - 300_000) });
      const steps = sim.steps("web-app", paused.uuid);
      assertStepsMatchRun(paused, steps);
      const gate = steps.at(-1);
      assert.ok(gate);
      assert.equal(gate.name, "Deploy to production");
      assert.equal(gate.trigger.type, "pipeline_step_trigger_manual");
      assert.deepEqual(gate.state, {
        type: "pipeline_step_state_pending",
        name: "PENDING",
        stage: { type: "pipeline_step_state_pending_paused", name: "PAUSED" },
      });
      assert.equal(rowFor(sim, "web-app", gate.uuid).state.name, "UNDEPLOYED");
      const staging = steps.find((s) => s.name === "Deploy to staging");
      assert.ok(staging);
      assert.equal(rowFor(sim, "web-app", staging.uuid).state.name, "COMPLETED");
      sim.clock.advance(60_000);
      sim.rerun("web-app", paused.uuid); // resumes at the gate
      assert.equal(rowFor(sim, "web-app", gate.uuid).state.name, "IN_PROGRESS");
      assert.equal(rowFor(sim, "web-app", staging.uuid).state.name, "COMPLETED", "steps before the gate are not re-run");
      sim.clock.advance(60_000);
      sim.finishRun("web-app", paused.uuid, "STOPPED");
      const stopped = rowFor(sim, "web-app", gate.uuid);
      assert.ok(stopped.state.name === "COMPLETED" && stopped.state.status.name === "STOPPED");
    });
  });

  it("finishRun and rerun keep generated runs' steps consistent", async () => {
    await withSim({ repositories: 4, runsPerRepository: 60 }, async (sim) => {
      for (const repo of sim.repositories()) {
        const runs = sim.runs(repo.slug);
        const failed = runs.find((r) => r.state.result?.name === "FAILED");
        const live = runs.find((r) => r.state.name !== "COMPLETED");
        if (failed) {
          const before = sim.steps(repo.slug, failed.uuid);
          const f = before.findIndex((s) => s.state.result?.name === "FAILED");
          sim.clock.advance(1_000);
          const rerun = sim.rerun(repo.slug, failed.uuid);
          const after = sim.steps(repo.slug, failed.uuid);
          assertStepsMatchRun(rerun, after);
          assert.deepEqual(
            after.map((s) => s.run_number),
            before.map((_, i) => (i < f ? 1 : 2)),
          );
          assert.deepEqual(after.slice(0, f), before.slice(0, f), "steps that succeeded are untouched");
          sim.clock.advance(1_000);
          assertStepsMatchRun(sim.finishRun(repo.slug, failed.uuid, "ERROR"), sim.steps(repo.slug, failed.uuid));
        }
        if (live) {
          sim.clock.advance(5_000);
          const done = sim.finishRun(repo.slug, live.uuid);
          assertStepsMatchRun(done, sim.steps(repo.slug, live.uuid));
        }
        const environments = sim.environments(repo.slug);
        for (const row of sim.deployments(repo.slug)) assertJoin(sim, repo.slug, row, environments);
      }
    });
  });

  it("a deploy-looking run in a repository without environments adds no row", async () => {
    await withSim({}, async (sim) => {
      const run = sim.addRun("mobile-app", { pattern: "deploy-prod", trigger: "manual", state: "IN_PROGRESS" });
      assert.deepEqual(run.target.selector, { type: "custom", pattern: "deploy-prod" });
      assert.equal(sim.steps("mobile-app", run.uuid).find((s) => s.state.name === "IN_PROGRESS")?.name, "Deploy to production");
      assert.deepEqual(sim.deployments("mobile-app"), []);
    });
  });
});

describe("simulator: determinism, request log, scale", () => {
  it("is deterministic for a seed (and for a sequence of control calls)", async () => {
    const snapshot = async (seed: number): Promise<string> => {
      const sim = await startSimulator({ now: NOW, seed, repositories: 4, runsPerRepository: 30 });
      try {
        const out: unknown[] = [];
        const run = sim.addRun("web-app", { deploy: "staging" });
        sim.clock.advance(10_000);
        sim.finishRun("web-app", run.uuid, "FAILED");
        sim.rerun("web-app", run.uuid);
        for (const repo of sim.repositories()) {
          out.push(sim.environments(repo.slug), sim.deployments(repo.slug));
          for (const r of sim.runs(repo.slug)) out.push(sim.steps(repo.slug, r.uuid));
        }
        return JSON.stringify(out);
      } finally {
        await sim.close();
      }
    };
    const a = await snapshot(7);
    assert.equal(await snapshot(7), a);
    assert.notEqual(await snapshot(8), a);
  });

  it("does not change with the order things are first read in", async () => {
    const a = await startSimulator({ now: NOW, repositories: 3 });
    const b = await startSimulator({ now: NOW, repositories: 3 });
    try {
      const deploymentsFirst = a.deployments("api-gateway");
      const runs = b.runs("api-gateway");
      const steps = [...runs].reverse().map((r) => b.steps("api-gateway", r.uuid));
      assert.deepEqual(b.deployments("api-gateway"), deploymentsFirst);
      assert.deepEqual(
        runs.map((r) => a.steps("api-gateway", r.uuid)),
        steps.reverse(),
      );
    } finally {
      await a.close();
      await b.close();
    }
  });

  it("records steps, environments and deployments requests in the log", async () => {
    await withSim({}, async (sim) => {
      const run = sim.runs("web-app")[0];
      assert.ok(run);
      await get(sim, `${stepsPath("web-app", run.uuid)}?pagelen=100&fields=${enc("-values.script_commands")}`);
      await get(sim, "/repositories/acme/web-app/environments/");
      await get(sim, "/repositories/acme/web-app/deployments/?page=2&pagelen=50");
      assert.deepEqual(
        sim.requests.map((r) => [r.path, r.query, r.status, r.auth]),
        [
          [
            `/2.0/repositories/acme/web-app/pipelines/${enc(run.uuid)}/steps/`,
            { pagelen: ["100"], fields: ["-values.script_commands"] },
            200,
            "bearer",
          ],
          ["/2.0/repositories/acme/web-app/environments/", {}, 200, "bearer"],
          ["/2.0/repositories/acme/web-app/deployments/", { page: ["2"], pagelen: ["50"] }, 200, "bearer"],
        ],
      );
    });
  });

  it("serves steps and deployments quickly at 1,000 repositories x 100 runs", async () => {
    const t0 = Date.now();
    await withSim({ repositories: 1000, runsPerRepository: 100 }, async (sim) => {
      assert.ok(Date.now() - t0 < 3000, `start took ${Date.now() - t0} ms`);
      const t1 = Date.now();
      const runs = await getJson<Page<PipelineJson>>(
        sim,
        "/repositories/acme/service-900/pipelines?pagelen=100&sort=-created_on",
      );
      for (const run of runs.values.slice(0, 20))
        await getJson<Page<StepJson>>(sim, `${stepsPath("service-900", run.uuid)}?pagelen=100`);
      const deployments = await walk<DeploymentJson>(sim, "/repositories/acme/service-901/deployments/?pagelen=100");
      assert.ok(deployments.length >= 1);
      await getJson<Page<EnvironmentJson>>(sim, "/repositories/acme/service-901/environments/");
      assert.ok(Date.now() - t1 < 2000, `requests took ${Date.now() - t1} ms`);
    });
  });
});
