// Where the real API differs from what a connector would guess (issue: never a successful sync
// with silently missing data): trailing slashes, 404s that are not "nothing here", repositories
// without runs under idle polling, and hosts that ask every stream as incremental.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { catalogFile, writeJson } from "./helpers/files.js";
import { runInProcess } from "./helpers/in-process.js";
import { assertValidMessages, type Message, records, stateFileFrom, statuses } from "./helpers/protocol.js";
import { simConfigFile } from "./helpers/sim-config.js";
import { type Simulator, startSimulator } from "./simulator/index.js";

const REPOSITORY_STREAMS = ["pipelines", "pipeline_steps", "environments", "deployments"];

async function run(args: string[], clockOffsetMs = 0) {
  const result = await runInProcess(args, { clockOffsetMs });
  assertValidMessages(result.messages);
  return result;
}

const traces = (messages: Message[]) => messages.filter((m) => m.type === "TRACE" && m.trace.type === "ERROR");
const logs = (messages: Message[], level: string) =>
  messages.filter((m) => m.type === "LOG" && m.log.level === level).map((m) => m.log.message as string);

describe("the real API's URLs and 404s", () => {
  let sim: Simulator;
  before(async () => {
    sim = await startSimulator({ repositories: 3, runsPerRepository: 6, seed: 12 });
  });
  after(() => sim.close());

  test("collections are asked with the trailing slash, single runs without; nothing answers 'no API here'", async () => {
    sim.requests.length = 0;
    const result = await run([
      "read",
      "--config",
      simConfigFile(sim),
      "--catalog",
      catalogFile(REPOSITORY_STREAMS, "full_refresh"),
    ]);
    assert.equal(result.code, 0, result.stderr);
    const paths = sim.requests.map((r) => r.path);
    for (const collection of [/\/pipelines\/$/, /\/steps\/$/, /\/environments\/$/, /\/deployments\/$/]) {
      assert.ok(
        paths.some((p) => collection.test(p)),
        `asked ${collection}`,
      );
    }
    const repositoryPaths = paths.filter((p) => /\/repositories\/[^/]+\/[^/]+\//.test(p));
    assert.ok(repositoryPaths.every((p) => p.endsWith("/")));
    assert.ok(sim.requests.every((r) => r.status !== 404));
    assert.ok(records(result.messages, "environments").length > 0 && records(result.messages, "deployments").length > 0);
  });

  test("a 404 'There is no API hosted at this URL' fails the stream with a system_error naming the URL", async () => {
    sim.inject({ kind: "no-api", match: /\/environments\//, times: 1_000 });
    try {
      const result = await run([
        "read",
        "--config",
        simConfigFile(sim),
        "--catalog",
        catalogFile(["pipelines", "environments"], "full_refresh"),
      ]);
      assert.equal(result.code, 1);
      for (const stream of ["pipelines", "environments"]) assert.equal(statuses(result.messages, stream).at(-1), "INCOMPLETE");
      const [error] = traces(result.messages);
      assert.equal(error?.trace.error.failure_type, "system_error");
      assert.match(
        error?.trace.error.message,
        /GET 127\.0\.0\.1:\d+\/2\.0\/repositories\/acme\/[^/]+\/environments\/ answered 404/,
      );
      assert.match(error?.trace.error.message, /serves no API at this URL/);
    } finally {
      sim.clearFaults();
    }
  });

  test("check fails when the pipelines listing answers 'no API here'", async () => {
    sim.inject({ kind: "no-api", match: /\/pipelines\//, times: 10 });
    try {
      const result = await run(["check", "--config", simConfigFile(sim)]);
      assert.equal(result.code, 0);
      const status = result.messages[0]?.connectionStatus;
      assert.equal(status?.status, "FAILED");
      assert.match(status?.message, /^not_found: GET .*\/pipelines\/ answered 404: Bitbucket serves no API at this URL/);
    } finally {
      sim.clearFaults();
    }
  });

  test("a read in which every repository was skipped (404) is not a success; the state is kept", async () => {
    const skipSim = await startSimulator({ repositories: 2, runsPerRepository: 3, seed: 5 });
    try {
      const config = simConfigFile(skipSim);
      const first = await run(["read", "--config", config, "--catalog", catalogFile(["pipelines"])]);
      assert.equal(first.code, 0, first.stderr);
      for (const repo of skipSim.repositories()) skipSim.disablePipelines(repo.slug as string);
      const second = await run([
        "read",
        "--config",
        config,
        "--catalog",
        catalogFile(["pipelines"]),
        "--state",
        writeJson(stateFileFrom(first.messages), "state"),
      ]);
      assert.equal(second.code, 1);
      assert.equal(logs(second.messages, "WARN").filter((m) => /^Skipped .* answered 404/.test(m)).length, 2);
      const [error] = traces(second.messages);
      assert.match(error?.trace.error.message, /Every repository polled for runs \(2\) was skipped/);
      assert.match(error?.trace.error.message, /Pipelines is not enabled/, "quotes what Bitbucket said");
      // The state the next sync starts from is the one it was given: nothing skipped is lost.
      const before = stateFileFrom(first.messages)[0]?.stream.stream_state.repositories;
      const after = stateFileFrom(second.messages)[0]?.stream.stream_state.repositories;
      assert.deepEqual(Object.keys(after ?? {}).sort(), Object.keys(before ?? {}).sort());
      for (const uuid of Object.keys(before ?? {})) assert.equal(after[uuid].created_on, before[uuid].created_on);
    } finally {
      await skipSim.close();
    }
  });
});

describe("idle polling and repositories that never had a run", () => {
  test("a repository without runs is idle like any other: asked again only when pushed to or due", async () => {
    // Every other repository has no Pipelines runs at all, as in most real workspaces.
    const sim = await startSimulator({ repositories: 8, runsPerRepository: (i) => (i % 2 === 0 ? 0 : 4), seed: 33 });
    try {
      const config = simConfigFile(sim, { idle_repository_poll_hours: 6 });
      const read = (state?: Message[], clockOffsetMs = 0) =>
        run(
          [
            "read",
            "--config",
            config,
            "--catalog",
            catalogFile(["pipelines"]),
            ...(state ? ["--state", writeJson(state, "state")] : []),
          ],
          clockOffsetMs,
        );
      const first = await read();
      assert.equal(first.code, 0, first.stderr);
      // Settle the unfinished runs so only pushes make a repository due.
      for (const repo of sim.repositories()) {
        for (const r of sim.runs(repo.slug as string)) {
          if (r.state.name !== "COMPLETED") sim.finishRun(repo.slug as string, r.uuid as string);
        }
      }
      const settled = await read(stateFileFrom(first.messages));
      sim.clock.advance(60_000);
      const empty = sim.repositories().filter((r) => sim.runs(r.slug as string).length === 0);
      assert.equal(empty.length, 4);
      sim.touchRepository(empty[0]!.slug as string);
      sim.requests.length = 0;
      const idle = await read(stateFileFrom(settled.messages));
      assert.equal(idle.code, 0, idle.stderr);
      const polled = new Set(sim.requests.filter((r) => r.path.endsWith("/pipelines/")).map((r) => r.path));
      assert.deepEqual([...polled], [`/2.0/repositories/${sim.workspace}/${empty[0]!.slug}/pipelines/`]);
      // Past the window, every repository is asked again, those without runs included.
      sim.requests.length = 0;
      const due = await read(stateFileFrom(idle.messages), 7 * 3_600_000);
      assert.equal(new Set(sim.requests.filter((r) => r.path.endsWith("/pipelines/")).map((r) => r.path)).size, 8);
      assert.equal(due.code, 0);
    } finally {
      await sim.close();
    }
  });
});

describe("idle polling and repositories without Pipelines", () => {
  test("a push to a repository without Pipelines, while the others are idle, is a WARN, not a failed sync", async () => {
    const sim = await startSimulator({ repositories: 3, runsPerRepository: 3, seed: 21 });
    try {
      const config = simConfigFile(sim, { idle_repository_poll_hours: 6 });
      const read = (state?: Message[]) =>
        run([
          "read",
          "--config",
          config,
          "--catalog",
          catalogFile(["pipelines"]),
          ...(state ? ["--state", writeJson(state, "state")] : []),
        ]);
      const [off] = sim.repositories();
      sim.disablePipelines(off!.slug as string);
      for (const repo of sim.repositories()) {
        for (const r of sim.runs(repo.slug as string)) {
          if (r.state.name !== "COMPLETED") sim.finishRun(repo.slug as string, r.uuid as string);
        }
      }
      const first = await read();
      assert.equal(first.code, 0, first.stderr);
      sim.clock.advance(60_000);
      sim.touchRepository(off!.slug as string);
      sim.requests.length = 0;
      const second = await read(stateFileFrom(first.messages));
      const polled = new Set(sim.requests.filter((r) => r.path.endsWith("/pipelines/")).map((r) => r.path));
      assert.equal(polled.size, 1, "only the repository pushed to is asked");
      assert.equal(logs(second.messages, "WARN").filter((m) => /^Skipped .* answered 404/.test(m)).length, 1);
      // The other repositories were read at the last sync and have nothing new: the sync succeeds.
      assert.deepEqual(traces(second.messages), []);
      assert.equal(second.code, 0);
    } finally {
      await sim.close();
    }
  });
});

describe("hosts that ask every stream as incremental (PyAirbyte's read())", () => {
  let sim: Simulator;
  before(async () => {
    sim = await startSimulator({ repositories: 2, runsPerRepository: 4, seed: 8 });
  });
  after(() => sim.close());

  test("a full-refresh-only stream asked incremental is read in full, with an INFO log", async () => {
    const catalog = writeJson(
      {
        streams: ["repositories", ...REPOSITORY_STREAMS].map((name) => ({
          stream: { name, json_schema: {}, supported_sync_modes: ["full_refresh", "incremental"] },
          sync_mode: "incremental",
          cursor_field: null,
          destination_sync_mode: "append_dedup",
        })),
      },
      "catalog",
    );
    const result = await run(["read", "--config", simConfigFile(sim), "--catalog", catalog]);
    assert.equal(result.code, 0, result.stderr);
    assert.ok(
      logs(result.messages, "INFO").some((m) => /Stream "environments" supports only full_refresh; it is read in full/.test(m)),
    );
    const expected = sim.repositories().reduce((n, r) => n + sim.environments(r.slug as string).length, 0);
    assert.ok(expected > 0);
    assert.equal(records(result.messages, "environments").length, expected);
    assert.ok(records(result.messages, "pipelines").length > 0);
  });
});

describe("runs listed out of created_on order", () => {
  test("runs created in the same millisecond all come out, whatever order the listing gives them", async () => {
    const sim = await startSimulator({ repositories: 1, runsPerRepository: 5, seed: 41 });
    try {
      const config = simConfigFile(sim, { page_size: 2 });
      const first = await run(["read", "--config", config, "--catalog", catalogFile(["pipelines"])]);
      const slug = sim.repositories()[0]!.slug as string;
      const added = [1, 2, 3, 4].map(() => sim.addRun(slug, { state: "COMPLETED", result: "SUCCESSFUL" }).uuid as string);
      const second = await run([
        "read",
        "--config",
        config,
        "--catalog",
        catalogFile(["pipelines"]),
        "--state",
        writeJson(stateFileFrom(first.messages), "state"),
      ]);
      assert.equal(second.code, 0, second.stderr);
      const got = records(second.messages, "pipelines").map((r) => r.uuid as string);
      for (const uuid of added) assert.ok(got.includes(uuid), `run ${uuid} emitted`);
      assert.equal(new Set(got).size, got.length, "each once");
    } finally {
      await sim.close();
    }
  });
});
