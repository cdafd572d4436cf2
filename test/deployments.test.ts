import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { after, before, describe, test } from "node:test";
import { Ajv } from "ajv";
import addFormatsModule from "ajv-formats";
import { catalogFile, writeJson } from "./helpers/files.js";
import { expectedEnvironmentFields } from "./helpers/flat-fields.js";
import {
  assertNoSecrets,
  assertValidMessages,
  errors,
  type Message,
  ofType,
  records,
  stateFileFrom,
  statuses,
} from "./helpers/protocol.js";
import { runConnector } from "./helpers/run.js";
import { SECRETS, simConfigFile } from "./helpers/sim-config.js";
import { type AddRunOptions, type Simulator, startSimulator } from "./simulator/index.js";

const addFormats = addFormatsModule as unknown as (ajv: Ajv) => Ajv;
const ajv = new Ajv({ allErrors: true, strict: false });
addFormats(ajv);
const STREAMS = ["pipelines", "pipeline_steps", "environments", "deployments"];
const validators = Object.fromEntries(
  STREAMS.map((s) => [s, ajv.compile(JSON.parse(readFileSync(`schemas/${s}.json`, "utf8")))]),
);
const RULES = [
  { name: "prod-custom", environment: "production", environment_type: "production", pipeline_pattern: "deploy-prod" },
  { name: "main-branch", environment: "staging", environment_type: "staging", branch_pattern: "main" },
];

async function read(config: string, streams: string[], state?: unknown) {
  const catalog = catalogFile(streams);
  const args = ["read", "--config", config, "--catalog", catalog];
  if (state !== undefined) args.push("--state", writeJson(state, "state"));
  const result = await runConnector(args);
  assert.equal(result.code, 0, result.stderr + JSON.stringify(errors(result.messages)));
  assertValidMessages(result.messages);
  assertNoSecrets(result.stdout + result.stderr, SECRETS);
  for (const m of result.messages.filter((m) => m.type === "RECORD")) {
    const validate = validators[m.record.stream]!;
    assert.ok(validate(m.record.data), `${m.record.stream}: ${ajv.errorsText(validate.errors)}`);
  }
  for (const s of streams) assert.equal(statuses(result.messages, s).at(-1), "COMPLETE");
  return result;
}

describe("steps, environments and deployments", () => {
  let sim: Simulator;
  let config: string;
  before(async () => {
    sim = await startSimulator({ repositories: 4, runsPerRepository: 30, seed: 3 });
    config = simConfigFile(sim, { deployment_rules: RULES });
  });
  after(() => sim.close());

  test("a full read joins every Bitbucket deployment to its environment and run, and never emits UNDEPLOYED", async () => {
    const result = await read(
      config,
      STREAMS.filter((s) => s !== "environments"),
    );
    const deployments = records(result.messages, "deployments");
    const fromBitbucket = deployments.filter((d) => d.source === "bitbucket_deployments");
    let expected = 0;
    for (const repo of sim.repositories()) {
      const envs = new Map(sim.environments(repo.slug as string).map((e) => [e.uuid, e]));
      const runs = new Map(sim.runs(repo.slug as string).map((r) => [r.uuid, r]));
      for (const row of sim.deployments(repo.slug as string)) {
        const got = fromBitbucket.find((d) => d.id === row.uuid);
        if (row.state.name === "UNDEPLOYED") {
          assert.equal(got, undefined, "UNDEPLOYED is not a deployment");
          continue;
        }
        expected++;
        assert.ok(got, `deployment ${row.uuid} missing`);
        const env = envs.get(row.environment.uuid)!;
        const run = runs.get(row.release.pipeline.uuid)!;
        assert.equal(got.environment, env.name);
        assert.equal(got.environment_type, env.environment_type.name.toLowerCase());
        assert.equal(got.pipeline_uuid, run.uuid);
        assert.equal(got.build_number, run.build_number);
        assert.equal(`#${got.build_number}`, row.release.name);
        assert.equal(got.commit_hash, run.target.commit?.hash);
        assert.equal(got.ref_name, (run.target as { ref_name?: string }).ref_name ?? null);
        assert.equal(got.step_uuid, row.step.uuid);
        assert.equal(got.repository_uuid, repo.uuid);
        assert.equal(got.started_on, row.state.started_on);
      }
    }
    assert.ok(expected > 0, "the dataset has Bitbucket deployments");
    assert.equal(fromBitbucket.length, expected);
    assert.equal(new Set(deployments.map((d) => d.id)).size, deployments.length, "each deployment once");
    // A run listed by Bitbucket is not inferred again by a rule.
    const listedRuns = new Set(fromBitbucket.map((d) => d.pipeline_uuid));
    assert.ok(deployments.filter((d) => d.source === "rule").every((d) => !listedRuns.has(d.pipeline_uuid)));
  });

  test("rules infer deployments from matching runs only, naming the rule", async () => {
    const result = await read(config, ["deployments"]);
    const inferred = records(result.messages, "deployments").filter((d) => d.source === "rule");
    const listed = new Set(
      sim.repositories().flatMap((r) =>
        sim
          .deployments(r.slug as string)
          .filter((d) => d.state.name !== "UNDEPLOYED")
          .map((d) => d.release.pipeline.uuid),
      ),
    );
    let expected = 0;
    for (const repo of sim.repositories()) {
      for (const run of sim.runs(repo.slug as string)) {
        if (listed.has(run.uuid)) continue;
        const target = run.target as { ref_type?: string; ref_name?: string; selector?: { pattern?: string } };
        const rules = [
          target.selector?.pattern === "deploy-prod" ? "prod-custom" : undefined,
          target.ref_type === "branch" && target.ref_name === "main" ? "main-branch" : undefined,
        ].filter(Boolean);
        for (const rule of rules) {
          expected++;
          const got = inferred.find((d) => d.id === `rule:${rule}:${run.uuid}`);
          assert.ok(got, `run ${run.uuid} should be inferred by ${rule}`);
          assert.equal(got.rule, rule);
          assert.equal(got.environment, rule === "prod-custom" ? "production" : "staging");
        }
      }
    }
    assert.ok(expected > 0, "the dataset has runs the rules match");
    assert.equal(inferred.length, expected);
  });

  test("steps: every step of every run once, without build scripts unless asked", async () => {
    const result = await read(config, ["pipeline_steps"]);
    const steps = records(result.messages, "pipeline_steps");
    let expected = 0;
    for (const repo of sim.repositories())
      for (const run of sim.runs(repo.slug as string)) expected += sim.steps(repo.slug as string, run.uuid as string).length;
    assert.equal(steps.length, expected);
    assert.equal(new Set(steps.map((s) => s.uuid)).size, expected);
    assert.ok(
      steps.every((s) => s.setup_commands === undefined && s.script_commands === undefined && s.teardown_commands === undefined),
    );
    const scriptLines = sim.repositories().flatMap((r) =>
      sim
        .runs(r.slug as string)
        .slice(0, 3)
        .flatMap((run) =>
          sim.steps(r.slug as string, run.uuid as string).flatMap((s) => (s.script_commands ?? []).map((c) => c.command)),
        ),
    );
    assert.ok(scriptLines.length > 0);
    for (const line of new Set(scriptLines))
      assert.ok(!result.stdout.includes(JSON.stringify(line).slice(1, -1)) || line.length < 6, `script text ${line} leaked`);
    assert.ok(steps.every((s) => typeof s.maxTime === "number" || s.maxTime === undefined));

    const withCommands = await read(simConfigFile(sim, { include_step_commands: true }), ["pipeline_steps"]);
    assert.ok(
      records(withCommands.messages, "pipeline_steps").some(
        (s) => Array.isArray(s.script_commands) && s.script_commands.length > 0,
      ),
    );
  });

  test("steps are not fetched again for a run whose steps were read finished", async () => {
    const streams = ["pipelines", "pipeline_steps", "deployments"];
    const first = await read(config, streams);
    const unfinished = records(first.messages, "pipelines").filter((r) => r.state.name !== "COMPLETED");
    const [repo] = sim.repositories();
    sim.clock.advance(60_000);
    const added = sim.addRun(repo!.slug as string, { state: "COMPLETED", result: "SUCCESSFUL" });
    for (const r of unfinished) sim.finishRun(r.repository_full_name.split("/")[1], r.uuid);
    sim.requests.length = 0;
    const second = await read(config, streams, stateFileFrom(first.messages));
    const stepRequests = sim.requests
      .filter((r) => r.path.includes("/steps"))
      .map((r) => decodeURIComponent(r.path.split("/pipelines/")[1]!.split("/")[0]!));
    assert.deepEqual(new Set(stepRequests), new Set([added.uuid, ...unfinished.map((r) => r.uuid)]));
    assert.equal(stepRequests.length, new Set(stepRequests).size, "one steps request per run");
    sim.requests.length = 0;
    const third = await read(config, streams, stateFileFrom(second.messages));
    assert.deepEqual(
      sim.requests.filter((r) => r.path.includes("/steps") || r.path.includes("/deployments")),
      [],
      "nothing changed: no steps, no deployments listing",
    );
    assert.deepEqual(records(third.messages, "pipeline_steps"), []);
  });

  test("a deployment in progress at one sync is emitted again, finished, by a later one", async () => {
    const streams = ["pipelines", "deployments"];
    const first = await read(config, streams);
    const withEnvironments = sim.repositories().find((r) => sim.environments(r.slug as string).length > 0)!;
    sim.clock.advance(60_000);
    const run = sim.addRun(withEnvironments.slug as string, { deploy: "production" });
    const second = await read(config, streams, stateFileFrom(first.messages));
    const started = records(second.messages, "deployments").filter(
      (d) => d.pipeline_uuid === run.uuid && d.source === "bitbucket_deployments",
    );
    assert.deepEqual(
      started.map((d) => [d.environment, d.status]),
      [["Production", "IN_PROGRESS"]],
    );
    sim.clock.advance(60_000);
    sim.finishRun(withEnvironments.slug as string, run.uuid as string, "SUCCESSFUL");
    const third = await read(config, streams, stateFileFrom(second.messages));
    const finished = records(third.messages, "deployments").filter((d) => d.pipeline_uuid === run.uuid);
    assert.deepEqual(
      finished.map((d) => [d.id, d.status]),
      [[started[0]!.id, "SUCCESSFUL"]],
    );
    assert.ok(finished[0]!.completed_on && finished[0]!.duration_seconds >= 0);
  });

  test("environments: every repository's environments with the repository uuid", async () => {
    const catalog = writeJson({
      streams: [
        {
          stream: { name: "environments", json_schema: {}, supported_sync_modes: ["full_refresh"] },
          sync_mode: "full_refresh",
          destination_sync_mode: "overwrite",
        },
      ],
    });
    const result = await runConnector(["read", "--config", config, "--catalog", catalog]);
    assert.equal(result.code, 0, result.stderr);
    assertValidMessages(result.messages);
    const got = records(result.messages, "environments") as Message[];
    const want = sim
      .repositories()
      .flatMap((r) =>
        sim
          .environments(r.slug as string)
          .map((e) => ({ ...e, ...expectedEnvironmentFields(e), repository_uuid: r.uuid, repository_full_name: r.full_name })),
      );
    assert.deepEqual(new Map(got.map((e) => [e.uuid, e])), new Map(want.map((e) => [e.uuid, e as Message])));
  });
});

describe("deployments without the environments listing", () => {
  test("an empty, 404 or incomplete environments listing loses no deployment: names come from the deployments listing, with one WARN per repository", async () => {
    const sim = await startSimulator({ repositories: 6, runsPerRepository: 30, seed: 3 });
    try {
      const slugs = sim
        .repositories()
        .map((r) => r.slug)
        .filter((slug) => sim.environments(slug).length > 0);
      const [empty, notFound, lacking, deleted, intact] = slugs;
      assert.ok(intact, "five repositories with environments");
      const envOf = (slug: string, name: string) => sim.environments(slug).find((e) => e.name === name)!.uuid;
      sim.hideEnvironments(empty!, "all");
      sim.hideEnvironments(notFound!, "404");
      sim.hideEnvironments(lacking!, [envOf(lacking!, "Staging")]);
      sim.hideEnvironments(deleted!, [envOf(deleted!, "Production")], { deleted: true });

      const result = await read(simConfigFile(sim), ["deployments"]);
      const got = new Map(records(result.messages, "deployments").map((d) => [d.id, d]));
      const warnings = ofType(result.messages, "LOG").filter((m) => m.log.level === "WARN");
      for (const repo of sim.repositories()) {
        const envs = new Map(sim.environments(repo.slug).map((e) => [e.uuid, e]));
        const rows = sim.deployments(repo.slug).filter((row) => row.state.name !== "UNDEPLOYED");
        let unlisted = 0;
        for (const row of rows) {
          const d = got.get(row.uuid);
          assert.ok(d, `${repo.slug}: deployment ${row.uuid} missing`);
          const env = envs.get(row.environment.uuid)!;
          const gone = repo.slug === deleted && env.name === "Production";
          assert.equal(d.environment_uuid, env.uuid);
          assert.equal(d.environment, gone ? null : env.name);
          assert.equal(d.environment_type, gone ? null : env.environment_type.name.toLowerCase());
          if (repo.slug === lacking ? env.name === "Staging" : repo.slug === deleted ? gone : repo.slug !== intact) unlisted++;
        }
        const mine = warnings.filter((m) => m.log.message.includes(repo.full_name));
        if (unlisted === 0) {
          assert.deepEqual(mine, [], `${repo.slug}: no WARN`);
          continue;
        }
        assert.equal(mine.length, 1, `${repo.slug}: one WARN`);
        assert.match(mine[0]!.log.message, new RegExp(`: ${unlisted} deployment\\(s\\) name an environment`));
      }
      assert.match(
        warnings.find((m) => m.log.message.includes(`/${deleted}`))!.log.message,
        /environment and environment_type are null/,
      );
      // The listings are asked with the slash, the deployments with the environment's name and type.
      const asked = sim.requests.filter((r) => /\/(deployments|environments)\/?$/.test(r.path));
      assert.ok(asked.length > 0 && asked.every((r) => r.path.endsWith("/")));
      for (const r of asked.filter((r) => r.path.endsWith("/deployments/"))) {
        assert.deepEqual(r.query.fields, ["+values.environment.name,+values.environment.environment_type.name"]);
      }
    } finally {
      await sim.close();
    }
  });
});

describe("deployment rules on tags and selector types", () => {
  test("tag_pattern counts tag runs, selector_type keeps tag pushes out of a custom pipeline's rule, branch_pattern ignores tags", async () => {
    const sim = await startSimulator({ repositories: 3, runsPerRepository: 30, seed: 3 });
    try {
      const rules = [
        { name: "tag-releases", environment: "production", environment_type: "production", tag_pattern: "v.*" },
        { name: "custom-deploy", environment: "production", selector_type: "custom", pipeline_pattern: "deploy-.*" },
        { name: "main-branch", environment: "staging", environment_type: "staging", branch_pattern: "main" },
      ];
      const bare = sim.repositories().find((r) => sim.environments(r.slug).length === 0)!.slug;
      // A second apart: runs created within one millisecond may be listed out of created_on order.
      const add = (opts: AddRunOptions) => {
        sim.clock.advance(1000);
        return sim.addRun(bare, { result: "SUCCESSFUL", ...opts });
      };
      const added = {
        // The bug: a push of tag deploy-2025.06 (`tags: deploy-*:`) was counted by the custom pipeline's rule.
        tagPush: add({ tag: "deploy-2025.06", tagSelector: "deploy-*" }),
        tagCalledMain: add({ tag: "main", tagSelector: "main" }),
        customOnTag: add({ tag: "v1.2.3", pattern: "deploy-prod" }),
        release: add({ tag: "v1.3.0" }),
      };
      const result = await read(simConfigFile(sim, { deployment_rules: rules }), ["deployments"]);
      const inferred = records(result.messages, "deployments").filter((d) => d.source === "rule");
      const rulesOf = (uuid: string) =>
        inferred
          .filter((d) => d.pipeline_uuid === uuid)
          .map((d) => d.rule)
          .sort();
      assert.deepEqual(rulesOf(added.tagPush.uuid), []);
      assert.deepEqual(rulesOf(added.tagCalledMain.uuid), []);
      assert.deepEqual(rulesOf(added.customOnTag.uuid), ["custom-deploy", "tag-releases"]);
      assert.deepEqual(rulesOf(added.release.uuid), ["tag-releases"]);
      const release = inferred.find((d) => d.pipeline_uuid === added.release.uuid)!;
      assert.deepEqual(
        [release.id, release.environment, release.environment_type, release.ref_name, release.status],
        [`rule:tag-releases:${added.release.uuid}`, "production", "production", "v1.3.0", "SUCCESSFUL"],
      );

      // Every run, generated ones included (tag pushes v*, custom deploy-to-* pipelines), by the rules' meaning.
      const listed = new Set(
        sim.repositories().flatMap((r) =>
          sim
            .deployments(r.slug)
            .filter((d) => d.state.name !== "UNDEPLOYED")
            .map((d) => d.release.pipeline.uuid),
        ),
      );
      const expected: string[] = [];
      for (const repo of sim.repositories()) {
        for (const run of sim.runs(repo.slug)) {
          if (listed.has(run.uuid)) continue;
          const t = run.target;
          const ref = t.type === "pipeline_ref_target" ? t : undefined;
          if (ref?.ref_type === "tag" && /^v.*$/.test(ref.ref_name)) expected.push(`rule:tag-releases:${run.uuid}`);
          if (t.selector.type === "custom" && /^deploy-.*$/.test(t.selector.pattern))
            expected.push(`rule:custom-deploy:${run.uuid}`);
          if (ref?.ref_type === "branch" && ref.ref_name === "main") expected.push(`rule:main-branch:${run.uuid}`);
        }
      }
      const generatedTagRuns = expected.filter((id) => id.startsWith("rule:tag-releases:")).length;
      assert.ok(generatedTagRuns > 2, `tag runs in the dataset: ${generatedTagRuns}`);
      assert.deepEqual(inferred.map((d) => d.id).sort(), expected.sort());
    } finally {
      await sim.close();
    }
  });
});
