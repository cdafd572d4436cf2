import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { after, before, describe, test } from "node:test";
import { Ajv } from "ajv";
import addFormatsModule from "ajv-formats";
import { catalogFile, writeJson } from "./helpers/files.js";
import { expectedRunFields } from "./helpers/flat-fields.js";
import {
  assertNoSecrets,
  assertValidMessages,
  type Message,
  records,
  stateFileFrom,
  states,
  statuses,
} from "./helpers/protocol.js";
import { runConnector } from "./helpers/run.js";
import { BASIC, SECRETS, simConfigFile } from "./helpers/sim-config.js";
import { type Simulator, startSimulator } from "./simulator/index.js";

const addFormats = addFormatsModule as unknown as (ajv: Ajv) => Ajv;
const ajv = new Ajv({ allErrors: true, strict: false });
addFormats(ajv);
const schemaValidators = Object.fromEntries(
  ["repositories", "pipelines"].map((s) => [s, ajv.compile(JSON.parse(readFileSync(`schemas/${s}.json`, "utf8")))]),
);

async function read(config: string, catalog: string, state?: unknown) {
  const args = ["read", "--config", config, "--catalog", catalog];
  if (state !== undefined) args.push("--state", writeJson(state, "state"));
  const result = await runConnector(args);
  assertValidMessages(result.messages);
  assertNoSecrets(result.stdout + result.stderr, SECRETS);
  assert.doesNotMatch(result.stderr, /\(node:\d+\) \w*Warning/, "no warning from Node.js on stderr");
  for (const m of result.messages.filter((m) => m.type === "RECORD")) {
    const validate = schemaValidators[m.record.stream]!;
    assert.ok(validate(m.record.data), `${m.record.stream} record invalid: ${ajv.errorsText(validate.errors)}`);
  }
  return result;
}

/** Every run of the simulator, as the connector should emit it. */
function expectedRuns(sim: Simulator): Map<string, Message> {
  const all = new Map<string, Message>();
  for (const repo of sim.repositories()) {
    for (const run of sim.runs(repo.slug as string)) {
      all.set(run.uuid as string, {
        ...run,
        ...expectedRunFields(run),
        repository_uuid: repo.uuid,
        repository_full_name: repo.full_name,
      });
    }
  }
  return all;
}

function byUuid(list: Message[]): Map<string, Message> {
  const map = new Map<string, Message>();
  for (const r of list) {
    assert.ok(!map.has(r.uuid), `duplicate record ${r.uuid}`);
    map.set(r.uuid, r);
  }
  return map;
}

describe("read", () => {
  let sim: Simulator;
  before(async () => {
    sim = await startSimulator({ repositories: 4, runsPerRepository: (i) => [0, 7, 120, 250][i] ?? 10 });
  });
  after(() => sim.close());

  test("a full read returns every repository and every run exactly once, with the API's values", async () => {
    sim.requests.length = 0;
    const result = await read(simConfigFile(sim, { page_size: 50 }), catalogFile());
    assert.equal(result.code, 0, result.stderr);
    const repos = byUuid(records(result.messages, "repositories"));
    assert.deepEqual(repos, new Map(sim.repositories().map((r) => [r.uuid as string, r as Message])));
    const runs = byUuid(records(result.messages, "pipelines"));
    assert.deepEqual(runs, expectedRuns(sim));
    for (const stream of ["repositories", "pipelines"]) {
      const s = statuses(result.messages, stream);
      assert.equal(s[0], "STARTED");
      assert.equal(s.at(-1), "COMPLETE");
      assert.ok(s.slice(1, -1).every((x) => x === "RUNNING") && s.length >= 3);
    }
    // Pipelines are asked newest first with page numbers built by the connector, never via `next`.
    const pipelineRequests = sim.requests.filter((r) => /\/pipelines\/?$/.test(r.path));
    assert.ok(pipelineRequests.every((r) => r.query.sort?.[0] === "-created_on" && r.query.pagelen?.[0] === "50"));
    // The minimum: ceil(runs/50) pages per repository (one for an empty one), nothing more.
    const expectedPages = [0, 7, 120, 250].reduce((n, runs) => n + Math.max(1, Math.ceil(runs / 50)), 0);
    assert.equal(pipelineRequests.length, expectedPages);
  });

  test("STATE messages follow their records and count them", async () => {
    const result = await read(simConfigFile(sim), catalogFile());
    for (const stream of ["repositories", "pipelines"]) {
      let count = 0;
      let total = 0;
      const ofStream = result.messages.filter(
        (m) =>
          (m.type === "RECORD" && m.record.stream === stream) ||
          (m.type === "STATE" && m.state.stream.stream_descriptor.name === stream),
      );
      for (const m of ofStream) {
        if (m.type === "RECORD") count++;
        else {
          assert.equal(m.state.sourceStats.recordCount, count);
          total += count;
          count = 0;
        }
      }
      assert.equal(count, 0, `records of ${stream} after its last STATE`);
      assert.equal(total, records(result.messages, stream).length);
      assert.ok(states(result.messages, stream).length >= 1);
    }
  });

  test("Basic auth reads the same runs as Bearer", async () => {
    const result = await read(simConfigFile(sim, { credentials: BASIC }), catalogFile(["pipelines"]));
    assert.equal(result.code, 0);
    assert.equal(records(result.messages, "pipelines").length, expectedRuns(sim).size);
  });

  test("the repositories filter limits both streams", async () => {
    const [, second] = sim.repositories();
    const result = await read(simConfigFile(sim, { repositories: [second!.slug] }), catalogFile());
    assert.deepEqual(
      records(result.messages, "repositories").map((r) => r.slug),
      [second!.slug],
    );
    assert.ok(records(result.messages, "pipelines").every((r) => r.repository_uuid === second!.uuid));
    assert.equal(records(result.messages, "pipelines").length, sim.runs(second!.slug as string).length);
  });

  test("start_date: runs created before it are not read", async () => {
    const runs = [...expectedRuns(sim).values()];
    const sorted = runs.map((r) => Date.parse(r.created_on)).sort((a, b) => a - b);
    const start = new Date(sorted[Math.floor(sorted.length / 2)]!).toISOString();
    const result = await read(simConfigFile(sim, { start_date: start }), catalogFile(["pipelines"]));
    const got = records(result.messages, "pipelines");
    assert.equal(got.length, runs.filter((r) => Date.parse(r.created_on) >= Date.parse(start)).length);
    assert.ok(got.every((r) => Date.parse(r.created_on) >= Date.parse(start)));
  });

  test("resuming from any STATE the connector printed loses no run", async () => {
    const first = await read(simConfigFile(sim, { page_size: 100 }), catalogFile(["pipelines"]));
    const all = new Set(records(first.messages, "pipelines").map((r) => r.uuid));
    let seen: string[] = [];
    let resumes = 0;
    for (let i = 0; i < first.messages.length; i++) {
      const m = first.messages[i]!;
      if (m.type === "RECORD") seen.push(m.record.data.uuid);
      if (m.type !== "STATE") continue;
      const resumed = await read(simConfigFile(sim), catalogFile(["pipelines"]), stateFileFrom(first.messages.slice(0, i + 1)));
      const union = new Set([...seen, ...records(resumed.messages, "pipelines").map((r) => r.uuid)]);
      assert.deepEqual(union, all, `resume after STATE #${++resumes}`);
    }
    assert.ok(resumes >= 2, "the read printed STATE more than once");
    seen = [];
  });
});

describe("incremental read", () => {
  let sim: Simulator;
  before(async () => {
    sim = await startSimulator({ repositories: 3, runsPerRepository: 30, seed: 7 });
  });
  after(() => sim.close());

  test("a second sync returns only new runs and runs finished since, and a third nothing", async () => {
    const config = simConfigFile(sim);
    const catalog = catalogFile(["pipelines"]);
    const first = await read(config, catalog);
    const firstRuns = records(first.messages, "pipelines");
    const unfinished = firstRuns.filter((r) => r.state.name !== "COMPLETED");
    const [a, b] = sim.repositories();
    sim.clock.advance(60_000);
    const added = [sim.addRun(a!.slug as string), sim.addRun(b!.slug as string, { state: "COMPLETED", result: "FAILED" })];
    const finished = unfinished.map((r) => sim.finishRun(r.repository_full_name.split("/")[1], r.uuid, "SUCCESSFUL"));

    const second = await read(config, catalog, stateFileFrom(first.messages));
    assert.equal(second.code, 0);
    const got = byUuid(records(second.messages, "pipelines"));
    const want = new Set([...added, ...finished].map((r) => r.uuid as string));
    assert.deepEqual(new Set(got.keys()), want);
    for (const f of finished) assert.equal(got.get(f.uuid as string)?.state.name, "COMPLETED");

    sim.finishRun(a!.slug as string, added[0]!.uuid as string);
    const third = await read(config, catalog, stateFileFrom(second.messages));
    assert.deepEqual(
      records(third.messages, "pipelines").map((r) => r.uuid),
      [added[0]!.uuid],
    );
    const fourth = await read(config, catalog, stateFileFrom(third.messages));
    assert.deepEqual(records(fourth.messages, "pipelines"), []);
  });

  test("a re-run within the look-back window is emitted once per change", async () => {
    const config = simConfigFile(sim);
    const catalog = catalogFile(["pipelines"]);
    const [repo] = sim.repositories();
    sim.clock.advance(60_000);
    const run = sim.addRun(repo!.slug as string, { state: "COMPLETED", result: "FAILED" });
    const first = await read(config, catalog);
    sim.rerun(repo!.slug as string, run.uuid as string);
    const second = await read(config, catalog, stateFileFrom(first.messages));
    const rerun = records(second.messages, "pipelines").filter((r) => r.uuid === run.uuid);
    assert.equal(rerun.length, 1);
    assert.equal(rerun[0]!.run_number, 2);
    const third = await read(config, catalog, stateFileFrom(second.messages));
    assert.deepEqual(
      records(third.messages, "pipelines").map((r) => r.uuid),
      [],
      "nothing changed: nothing emitted",
    );
    sim.finishRun(repo!.slug as string, run.uuid as string, "SUCCESSFUL");
    const fourth = await read(config, catalog, stateFileFrom(third.messages));
    const done = records(fourth.messages, "pipelines");
    assert.deepEqual(
      done.map((r) => [r.uuid, r.state.result?.name]),
      [[run.uuid, "SUCCESSFUL"]],
    );
  });

  test("an incremental sync with nothing new costs one request per repository plus the listing", async () => {
    const config = simConfigFile(sim);
    const catalog = catalogFile(["pipelines"]);
    const first = await read(config, catalog);
    const settled = await read(config, catalog, stateFileFrom(first.messages));
    sim.requests.length = 0;
    const idle = await read(config, catalog, stateFileFrom(settled.messages));
    assert.deepEqual(records(idle.messages, "pipelines"), []);
    const unfinished = Object.values(
      stateFileFrom(settled.messages)[0]!.stream.stream_state.repositories as Record<
        string,
        { runs?: Record<string, { seen: string }> }
      >,
    )
      .flatMap((e) => Object.values(e.runs ?? {}))
      .filter((w) => !w.seen.startsWith("COMPLETED")).length;
    assert.equal(sim.requests.length, 1 + sim.repositories().length + unfinished);
  });

  test("repositories: an incremental read asks only for repositories updated since the cursor", async () => {
    const config = simConfigFile(sim);
    const catalog = catalogFile(["repositories"]);
    const first = await read(config, catalog);
    assert.equal(records(first.messages, "repositories").length, sim.repositories().length);
    sim.clock.advance(60_000);
    const [, b] = sim.repositories();
    sim.touchRepository(b!.slug as string);
    sim.requests.length = 0;
    const second = await read(config, catalog, stateFileFrom(first.messages));
    assert.deepEqual(
      records(second.messages, "repositories").map((r) => r.slug),
      [b!.slug],
    );
    assert.match(sim.requests[0]!.query.q?.[0] ?? "", /^updated_on>=/);
  });
});

describe("read while the workspace changes", () => {
  let sim: Simulator;
  before(async () => {
    sim = await startSimulator({ repositories: 2, runsPerRepository: 60, seed: 11 });
  });
  after(() => sim.close());

  test("runs arriving while a read pages through are neither lost nor duplicated", async () => {
    const [repo] = sim.repositories();
    const slug = repo!.slug as string;
    const before = sim.runs(slug).map((r) => r.uuid as string);
    // Page 2 of the first repository answers slowly; meanwhile three runs arrive, shifting every
    // row of the newest-first listing down by three.
    sim.inject({ kind: "slow", delayMs: 800, match: new RegExp(`/${slug}/pipelines.*[?&]page=2`) });
    sim.requests.length = 0;
    const config = simConfigFile(sim, { page_size: 20 });
    const catalog = catalogFile(["pipelines"]);
    const reading = read(config, catalog);
    while (!sim.requests.some((r) => r.path.includes(`/${slug}/pipelines`) && r.query.page?.[0] === "2")) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    const arrived = [1, 2, 3].map(() => {
      sim.clock.advance(1000);
      return sim.addRun(slug).uuid as string;
    });
    const first = await reading;
    const got = records(first.messages, "pipelines").filter((r) => r.repository_uuid === repo!.uuid);
    byUuid(got); // no duplicate
    for (const uuid of before)
      assert.ok(
        got.some((r) => r.uuid === uuid),
        `run ${uuid} missing`,
      );
    const second = await read(config, catalog, stateFileFrom(first.messages));
    const all = new Set([...got, ...records(second.messages, "pipelines")].map((r) => r.uuid));
    for (const uuid of arrived) assert.ok(all.has(uuid), `run ${uuid} that arrived mid-walk is lost`);
  });

  test("a repository deleted or without Pipelines is logged and skipped, not fatal", async () => {
    const extra = sim.addRepository({ slug: "to-delete" });
    const noPipelines = sim.addRepository({ slug: "no-pipelines" });
    sim.disablePipelines(noPipelines.slug as string);
    // The repository disappears between the listing and its pipelines request.
    sim.inject({ kind: "slow", delayMs: 300, match: /\/pipelines/ });
    sim.requests.length = 0;
    const reading = read(simConfigFile(sim, { concurrency: 1 }), catalogFile(["pipelines"]));
    while (!sim.requests.some((r) => r.path.includes("/pipelines"))) await new Promise((r) => setTimeout(r, 10));
    sim.deleteRepository(extra.slug as string);
    const result = await reading;
    assert.equal(result.code, 0, result.stderr);
    assert.deepEqual(statuses(result.messages, "pipelines").at(-1), "COMPLETE");
    const logs = result.messages.filter((m) => m.type === "LOG").map((m) => m.log.message as string);
    assert.ok(
      logs.some((l) => l.includes("to-delete") && l.includes("404")),
      logs.join("\n"),
    );
    assert.ok(
      logs.some((l) => l.includes("no-pipelines") && l.includes("404")),
      logs.join("\n"),
    );
    const runs = records(result.messages, "pipelines");
    for (const repo of sim.repositories()) {
      assert.equal(runs.filter((r) => r.repository_uuid === repo.uuid).length, sim.runs(repo.slug as string).length);
    }
  });
});

test("at concurrency 16, Node.js prints no warning (abort listeners of the requests in flight)", async () => {
  const sim = await startSimulator({ seed: 4, repositories: 24, runsPerRepository: 30 });
  try {
    const result = await read(simConfigFile(sim, { concurrency: 16, page_size: 10 }), catalogFile(["pipelines"]));
    assert.equal(result.code, 0);
  } finally {
    await sim.close();
  }
});
