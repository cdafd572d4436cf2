// The request-saving and pacing options of a large workspace: shard, idle_repository_poll_hours,
// max_requests_per_hour, X-RateLimit-NearLimit, and concurrency keeping records and STATE exact.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { catalogFile, writeJson } from "./helpers/files.js";
import { runInProcess } from "./helpers/in-process.js";
import { assertValidMessages, records, stateFileFrom, states } from "./helpers/protocol.js";
import { simConfigFile } from "./helpers/sim-config.js";
import { runVirtual } from "./helpers/virtual-clock.js";
import { type Simulator, startSimulator } from "./simulator/index.js";

describe("large workspaces", () => {
  let sim: Simulator;
  before(async () => {
    sim = await startSimulator({ repositories: 40, runsPerRepository: 12, seed: 21 });
  });
  after(() => sim.close());

  const read = async (overrides: Record<string, unknown>, state?: unknown, streams = ["repositories", "pipelines"]) => {
    const args = ["read", "--config", simConfigFile(sim, overrides), "--catalog", catalogFile(streams)];
    if (state !== undefined) args.push("--state", writeJson(state, "state"));
    const result = await runInProcess(args);
    assert.equal(result.code, 0, result.stderr);
    assertValidMessages(result.messages);
    return result;
  };

  test("unless the repositories stream reads in full, the listing asks only for the fields it needs", async () => {
    const listing = () => sim.requests.filter((r) => r.path === `/2.0/repositories/${sim.workspace}`);
    const trimmed = (r: { query: Record<string, string[]> }) => /values\.uuid.*values\.slug/.test(r.query.fields?.[0] ?? "");
    sim.requests.length = 0;
    await read({}, undefined, ["pipelines"]);
    assert.ok(listing().length > 0);
    assert.ok(listing().every(trimmed));
    sim.requests.length = 0;
    const full = await read({}, undefined, ["repositories", "pipelines"]);
    assert.ok(listing().every((r) => !r.query.fields));
    // An incremental repositories stream asks its own BBQL query: the shared listing is trimmed.
    sim.requests.length = 0;
    await read({}, stateFileFrom(full.messages), ["repositories", "pipelines"]);
    const [own, ...shared] = listing().sort((a, b) => Number(trimmed(a)) - Number(trimmed(b)));
    assert.match(own?.query.q?.[0] ?? "", /^updated_on>=/);
    assert.ok(shared.length > 0 && shared.every(trimmed));
  });

  test("shards split the repositories into disjoint parts that cover the workspace", async () => {
    const parts = await Promise.all([0, 1, 2].map((index) => read({ shard: { index, count: 3 } })));
    const repos = parts.map((p) => records(p.messages, "repositories").map((r) => r.uuid as string));
    const runs = parts.map((p) => records(p.messages, "pipelines").map((r) => r.uuid as string));
    assert.ok(
      repos.every((r) => r.length > 0),
      "every shard has repositories",
    );
    assert.equal(new Set(repos.flat()).size, repos.flat().length, "no repository in two shards");
    assert.deepEqual(new Set(repos.flat()), new Set(sim.repositories().map((r) => r.uuid)));
    assert.equal(
      new Set(runs.flat()).size,
      sim.repositories().reduce((n, r) => n + sim.runs(r.slug as string).length, 0),
    );
    // Stable: the same shard twice reads the same repositories.
    const again = await read({ shard: { index: 1, count: 3 } });
    assert.deepEqual(
      records(again.messages, "repositories").map((r) => r.uuid),
      repos[1],
    );
  });

  test("idle_repository_poll_hours asks only repositories pushed to, with unfinished runs, or due", async () => {
    const config = { idle_repository_poll_hours: 6 };
    const first = await read(config, undefined, ["pipelines"]);
    const settled = await read(config, stateFileFrom(first.messages), ["pipelines"]);
    const state = stateFileFrom(settled.messages)[0]!.stream.stream_state as {
      repositories: Record<string, { runs?: Record<string, { seen: string }> }>;
    };
    const withUnfinished = Object.values(state.repositories).filter((e) =>
      Object.values(e.runs ?? {}).some((w) => !w.seen.startsWith("COMPLETED")),
    ).length;
    sim.clock.advance(60_000);
    const [pushed] = sim
      .repositories()
      .filter(
        (r) => !Object.values(state.repositories[r.uuid as string]?.runs ?? {}).some((w) => !w.seen.startsWith("COMPLETED")),
      );
    sim.touchRepository(pushed!.slug as string);
    const newRun = sim.addRun(pushed!.slug as string, { state: "COMPLETED", result: "SUCCESSFUL" });
    sim.requests.length = 0;
    const idle = await read(config, stateFileFrom(settled.messages), ["pipelines"]);
    const pipelineRequests = sim.requests.filter((r) => r.path.endsWith("/pipelines/"));
    assert.equal(pipelineRequests.length, withUnfinished + 1, "pushed-to repository plus those with unfinished runs");
    assert.ok(records(idle.messages, "pipelines").some((r) => r.uuid === newRun.uuid));
    assert.ok(
      sim.requests.length < sim.repositories().length,
      `${sim.requests.length} requests for ${sim.repositories().length} repositories`,
    );
  });

  test("idle_repository_poll_hours still gives environments (full refresh) of every repository", async () => {
    const catalog = writeJson(
      {
        streams: [
          ["pipelines", "incremental", "append_dedup"],
          ["environments", "full_refresh", "overwrite"],
        ].map(([name, mode, destination]) => ({
          stream: { name, json_schema: {}, supported_sync_modes: ["full_refresh", "incremental"] },
          sync_mode: mode,
          destination_sync_mode: destination,
        })),
      },
      "catalog",
    );
    const config = simConfigFile(sim, { idle_repository_poll_hours: 6 });
    const read = async (state?: unknown) => {
      const args = ["read", "--config", config, "--catalog", catalog];
      if (state !== undefined) args.push("--state", writeJson(state, "state"));
      const result = await runInProcess(args);
      assert.equal(result.code, 0, result.stderr);
      return result;
    };
    const first = await read();
    const settled = await read(stateFileFrom(first.messages));
    sim.requests.length = 0;
    const idle = await read(stateFileFrom(settled.messages));
    const runListings = new Set(sim.requests.filter((r) => r.path.endsWith("/pipelines/")).map((r) => r.path));
    assert.ok(runListings.size < sim.repositories().length, `${runListings.size} repositories asked for runs`);
    const environments = (messages: typeof idle.messages) =>
      records(messages, "environments")
        .map((r) => r.uuid as string)
        .sort();
    assert.ok(environments(first.messages).length > 0);
    assert.deepEqual(environments(idle.messages), environments(first.messages));
  });

  test("a configured repository that is not visible is named in a WARN log; the others are read", async () => {
    const real = sim.repositories()[0]!.slug as string;
    const result = await read({ repositories: ["no-such-repo", real] }, undefined, ["pipelines"]);
    const warnings = result.messages
      .filter((m) => m.type === "LOG" && m.log.level === "WARN")
      .map((m) => m.log.message as string);
    assert.ok(
      warnings.some((w) => /Not read: .*not visible to the credentials .*: no-such-repo\./.test(w)),
      warnings.join("\n"),
    );
    assert.equal(records(result.messages, "pipelines").length, sim.runs(real).length);
  });

  test("ESTIMATE counts the runs a sync will emit: all of them in a full read, none announced in an incremental one", async () => {
    const estimates = (messages: Awaited<ReturnType<typeof read>>["messages"]) =>
      messages
        .filter((m) => m.type === "TRACE" && m.trace.type === "ESTIMATE")
        .map((m) => m.trace.estimate.row_estimate as number);
    const full = await read({ concurrency: 1 }, undefined, ["pipelines"]);
    const total = records(full.messages, "pipelines").length;
    assert.ok(estimates(full.messages).length > 0);
    assert.equal(estimates(full.messages).at(-1), total);
    const firstAt = (what: (m: (typeof full.messages)[number]) => boolean) => full.messages.findIndex(what);
    assert.ok(
      firstAt((m) => m.type === "TRACE" && m.trace.type === "ESTIMATE") <
        firstAt((m) => m.type === "RECORD" && m.record.stream === "pipelines"),
      "the first ESTIMATE comes before the first record",
    );
    const incremental = await read({ concurrency: 1 }, stateFileFrom(full.messages), ["pipelines"]);
    assert.deepEqual(estimates(incremental.messages), []);
  });

  test("max_requests_per_hour spaces requests evenly", async () => {
    const result = await read({ max_requests_per_hour: 3600, concurrency: 4 }, undefined, ["pipelines"]);
    const requests = Number(
      /Read finished: (\d+) requests/.exec(
        result.messages
          .filter((m) => m.type === "LOG")
          .map((m) => m.log.message)
          .join("\n"),
      )?.[1],
    );
    assert.ok(requests > 40);
    // One request a second: the waits add up to about one second per request after the first.
    assert.ok(
      result.sleptMs >= (requests - 2) * 1000 && result.sleptMs <= requests * 1000 * 1.1,
      `slept ${result.sleptMs} ms for ${requests} requests`,
    );
  });

  test("X-RateLimit-NearLimit: true slows requests down to the stated hourly limit", async () => {
    sim.inject({ kind: "slow", delayMs: 0, nearLimit: true, times: 3 });
    const result = await runVirtual([
      "read",
      "--config",
      simConfigFile(sim, { concurrency: 1 }),
      "--catalog",
      catalogFile(["pipelines"]),
    ]);
    assert.equal(result.code, 0);
    const logs = result.messages.filter((m) => m.type === "LOG").map((m) => m.log.message as string);
    assert.ok(
      logs.some((l) => /rate limit is near \(1000 requests an hour\): slowing to one request every 3\.6 s/.test(l)),
      logs.join("\n"),
    );
    assert.ok(result.waitedMs >= 2 * 3600, `it waited ${result.waitedMs} ms between requests`);
  });

  test("with concurrency, each repository's records stay together and every STATE follows its records", async () => {
    const result = await read({ concurrency: 8, page_size: 5 }, undefined, ["pipelines"]);
    const order = records(result.messages, "pipelines").map((r) => r.repository_uuid as string);
    const seen = new Set<string>();
    for (let i = 0; i < order.length; i++) {
      if (i > 0 && order[i] !== order[i - 1]) assert.ok(!seen.has(order[i]!), "a repository's records are split");
      seen.add(order[i]!);
    }
    // Every repository a STATE covers (its cursor is set) has all its records before that STATE.
    let emitted = 0;
    for (const m of result.messages) {
      if (m.type === "RECORD") emitted++;
      if (m.type !== "STATE") continue;
      const covered = Object.entries(m.state.stream.stream_state.repositories as Record<string, { created_on?: string }>).filter(
        ([, e]) => e.created_on,
      );
      const expected = covered.reduce(
        (n, [uuid]) => n + sim.runs(sim.repositories().find((r) => r.uuid === uuid)!.slug as string).length,
        0,
      );
      assert.ok(emitted >= expected, `STATE covers ${expected} runs but only ${emitted} records came before it`);
    }
    assert.ok(states(result.messages, "pipelines").length >= 20, "about one STATE per twentieth of the repositories");
  });
});
