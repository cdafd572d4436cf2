// deployment_commits and restored_after_seconds against the simulator's git history: the commits
// each successful deployment shipped (exclude honoured across merges, paged), asked once per
// deployment, and the time to restore of failed production deployments, across syncs.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { catalogFile, writeJson } from "./helpers/files.js";
import { startProxy } from "./helpers/http-stubs.js";
import { runInProcess } from "./helpers/in-process.js";
import { assertValidMessages, type Message, records, stateFileFrom } from "./helpers/protocol.js";
import { simConfigFile } from "./helpers/sim-config.js";
import { type Simulator, startSimulator } from "./simulator/index.js";

const STREAMS = ["deployments", "deployment_commits"];

async function read(config: string, streams: string[], state?: Message[]) {
  const args = ["read", "--config", config, "--catalog", catalogFile(streams)];
  if (state) args.push("--state", writeJson(state, "state"));
  const result = await runInProcess(args);
  assertValidMessages(result.messages);
  assert.equal(result.code, 0, result.stderr + JSON.stringify(result.messages.filter((m) => m.type === "TRACE")));
  return result;
}

const at = (record: Message): number => Date.parse(record.completed_on);
const envKey = (d: Message): string => `${d.repository_uuid} ${d.environment_uuid ?? d.environment}`;

/** For each successful deployment, the one before it to the same environment (null for the first), from the records. */
function previousSuccesses(deployments: Message[]): Map<string, Message | null> {
  const successes = deployments.filter((d) => d.status === "SUCCESSFUL" && d.completed_on).sort((a, b) => at(a) - at(b));
  const last = new Map<string, Message>();
  const previous = new Map<string, Message | null>();
  for (const d of successes) {
    previous.set(d.id, last.get(envKey(d)) ?? null);
    last.set(envKey(d), d);
  }
  return previous;
}

describe("deployment_commits", () => {
  let sim: Simulator;
  before(async () => {
    sim = await startSimulator({ repositories: 3, runsPerRepository: 40, seed: 14 });
  });
  after(() => sim.close());

  const slugOf = (d: Message): string => (d.repository_full_name as string).split("/")[1]!;

  test("each successful deployment's commits: reachable from it, not from the previous one's; the first one's commit alone", async () => {
    sim.requests.length = 0;
    const result = await read(simConfigFile(sim), STREAMS);
    const deployments = records(result.messages, "deployments");
    const commits = records(result.messages, "deployment_commits");
    const previous = previousSuccesses(deployments);
    assert.ok(previous.size >= 5, `${previous.size} successful deployments`);
    let withMerges = 0;
    for (const [id, before] of previous) {
      const deployment = deployments.find((d) => d.id === id)!;
      const slug = slugOf(deployment);
      const expected = before
        ? sim.commitsBetween(slug, deployment.commit_hash, [before.commit_hash])
        : sim.commitsBetween(slug, deployment.commit_hash).slice(0, 1);
      const got = commits.filter((c) => c.deployment_id === id);
      assert.deepEqual(
        got.map((c) => c.commit_hash),
        expected.map((c) => c.hash),
        `deployment ${id}`,
      );
      if (expected.some((c) => c.parents.length > 1)) withMerges++;
      for (const [i, c] of got.entries()) {
        const commit = expected[i]!;
        assert.equal(c.commit_date, commit.date);
        assert.equal(c.author_account_id, commit.author.user?.account_id ?? null);
        assert.equal(c.author_display_name, commit.author.user?.display_name ?? null);
        assert.equal(c.deployed_on, deployment.completed_on);
        assert.equal(c.lead_time_seconds, (Date.parse(deployment.completed_on) - Date.parse(commit.date)) / 1000);
        assert.equal(c.environment, deployment.environment);
        assert.equal(c.pipeline_created_on, deployment.pipeline_created_on);
        assert.ok(!("message" in c), "no commit message unless include_commit_messages");
      }
    }
    assert.ok(withMerges > 0, "some change sets include merges");
    assert.equal(new Set(commits.map((c) => `${c.deployment_id} ${c.commit_hash}`)).size, commits.length, "each once");
    // One listing per successful deployment that shipped another commit (its pages follow
    // `next`); a redeploy of the same commit asks nothing.
    const listings = sim.requests.filter((r) => /\/commits\//.test(r.path) && !r.query.page);
    const newCommits = [...previous].filter(
      ([id, before]) => before?.commit_hash !== deployments.find((d) => d.id === id)!.commit_hash,
    );
    assert.ok(newCommits.length < previous.size, "some redeploys of the same commit");
    assert.equal(listings.length, newCommits.length);
  });

  test("nothing is asked of the commits endpoint when the stream is not selected", async () => {
    sim.requests.length = 0;
    await read(simConfigFile(sim), ["deployments"]);
    assert.equal(sim.requests.filter((r) => r.path.includes("/commits")).length, 0);
  });

  test("include_commit_messages adds each commit's message", async () => {
    const result = await read(simConfigFile(sim, { include_commit_messages: true }), ["deployment_commits"]);
    const commits = records(result.messages, "deployment_commits");
    assert.ok(commits.length > 0 && commits.every((c) => typeof c.message === "string" && c.message.length > 0));
  });

  test("an incremental sync asks commits only for the new deployments, each once, excluding the last one's commit", async () => {
    const config = simConfigFile(sim);
    const first = await read(config, STREAMS);
    const [repo] = sim.repositories().filter((r) => sim.environments(r.slug as string).length > 0);
    // Two pushes to the main branch: each deploys its new head to staging.
    for (let i = 0; i < 2; i++) {
      sim.clock.advance(600_000);
      sim.addRun(repo!.slug as string, { state: "COMPLETED", result: "SUCCESSFUL" });
    }
    sim.clock.advance(60_000);
    sim.requests.length = 0;
    const second = await read(config, STREAMS, stateFileFrom(first.messages));
    const before = new Map(records(first.messages, "deployments").map((d) => [d.id, d]));
    const now = records(second.messages, "deployments");
    const all = [...new Map([...before, ...now.map((d) => [d.id, d] as const)]).values()];
    const previous = previousSuccesses(all);
    const fresh = now.filter((d) => d.status === "SUCCESSFUL" && before.get(d.id)?.status !== "SUCCESSFUL");
    assert.ok(fresh.length >= 2, `${fresh.length} new successful deployments`);
    const got = records(second.messages, "deployment_commits");
    let asked = 0;
    for (const deployment of fresh) {
      const prev = previous.get(deployment.id);
      const slug = slugOf(deployment);
      const expected = prev
        ? sim.commitsBetween(slug, deployment.commit_hash, [prev.commit_hash])
        : sim.commitsBetween(slug, deployment.commit_hash).slice(0, 1);
      assert.deepEqual(
        got.filter((c) => c.deployment_id === deployment.id).map((c) => c.commit_hash),
        expected.map((c) => c.hash),
        deployment.id,
      );
      if (prev?.commit_hash !== deployment.commit_hash) asked++;
    }
    assert.ok(got.length >= 2, `${got.length} commits shipped`);
    assert.deepEqual(
      new Set(got.map((c) => c.deployment_id)),
      new Set(fresh.filter((d) => got.some((c) => c.deployment_id === d.id)).map((d) => d.id)),
    );
    // Each deployment once: one commits request per new deployment that shipped another commit.
    assert.equal(sim.requests.filter((r) => r.path.includes("/commits/")).length, asked);
    // A third sync with nothing new asks nothing.
    sim.requests.length = 0;
    const third = await read(config, STREAMS, stateFileFrom(second.messages));
    assert.deepEqual(records(third.messages, "deployment_commits"), []);
    assert.equal(sim.requests.filter((r) => r.path.includes("/commits")).length, 0);
  });
});

describe("restored_after_seconds", () => {
  test("a failed production deployment gets its time to restore, in the same sync or when a later one restores it", async () => {
    const sim = await startSimulator({ repositories: 2, runsPerRepository: 30, seed: 9 });
    try {
      const config = simConfigFile(sim);
      const first = await read(config, ["deployments"]);
      const all = records(first.messages, "deployments");
      for (const d of all) {
        const failed = (d.status === "FAILED" || d.status === "ERROR") && d.environment_type === "production";
        if (!failed) {
          assert.equal(d.restored_after_seconds, null, `${d.id} is no failed production deployment`);
          continue;
        }
        const next = all
          .filter((s) => s.status === "SUCCESSFUL" && envKey(s) === envKey(d) && at(s) > at(d))
          .sort((a, b) => at(a) - at(b))[0];
        assert.equal(d.restored_after_seconds, next ? (at(next) - at(d)) / 1000 : null, d.id);
      }
      // A production deployment fails now, and a later sync's success restores it.
      const [repo] = sim.repositories().filter((r) => sim.environments(r.slug as string).length > 0);
      const slug = repo!.slug as string;
      sim.clock.advance(3_600_000);
      const bad = sim.addRun(slug, { deploy: "production", state: "COMPLETED", result: "FAILED" });
      sim.clock.advance(60_000);
      const second = await read(config, ["deployments"], stateFileFrom(first.messages));
      const failedRecord = records(second.messages, "deployments").find((d) => d.pipeline_uuid === bad.uuid);
      assert.equal(failedRecord?.status, "FAILED");
      assert.equal(failedRecord?.restored_after_seconds, null, "not restored yet");
      sim.clock.advance(1_800_000);
      const good = sim.addRun(slug, { deploy: "production", state: "COMPLETED", result: "SUCCESSFUL" });
      sim.clock.advance(60_000);
      const third = await read(config, ["deployments"], stateFileFrom(second.messages));
      const emitted = records(third.messages, "deployments");
      const success = emitted.find((d) => d.pipeline_uuid === good.uuid && d.status === "SUCCESSFUL");
      const restored = emitted.find((d) => d.id === failedRecord!.id);
      assert.ok(success && restored, "the failed deployment is emitted again, restored");
      assert.equal(restored.restored_after_seconds, (at(success) - at(failedRecord!)) / 1000);
      assert.ok(restored.restored_after_seconds > 0);
    } finally {
      await sim.close();
    }
  });
});

describe("restored_after_seconds of a failed deployment emitted again", () => {
  test("a failure remembered from an earlier sync and emitted again (its run changed) gets its time to restore", async () => {
    const sim = await startSimulator({ repositories: 1, runsPerRepository: 10, seed: 9 });
    // The run of the failed deployment shows as still running at the second sync (a parallel
    // step goes on after the deploy step failed), so the third sync emits its deployment again.
    let running: string | undefined;
    const proxy = await startProxy(sim.origin, {
      transform: (path, body) => {
        if (!running || !path.endsWith("/pipelines/")) return body;
        for (const run of body.values ?? []) {
          if (run.uuid !== running) continue;
          run.state = { type: "pipeline_state_in_progress", name: "IN_PROGRESS", stage: { name: "RUNNING" } };
          delete run.completed_on;
        }
        return body;
      },
    });
    try {
      const config = simConfigFile(sim, { api_url: proxy.url });
      const slug = sim.repositories()[0]!.slug as string;
      assert.ok(sim.environments(slug).length > 0);
      const first = await read(config, ["deployments"]);
      sim.clock.advance(3_600_000);
      const bad = sim.addRun(slug, { deploy: "production", state: "COMPLETED", result: "FAILED" });
      running = bad.uuid as string;
      sim.clock.advance(60_000);
      const second = await read(config, ["deployments"], stateFileFrom(first.messages));
      const failed = records(second.messages, "deployments").find((d) => d.pipeline_uuid === bad.uuid);
      assert.equal(failed?.status, "FAILED");
      assert.equal(failed?.restored_after_seconds, null);
      running = undefined;
      sim.clock.advance(1_800_000);
      const good = sim.addRun(slug, { deploy: "production", state: "COMPLETED", result: "SUCCESSFUL" });
      sim.clock.advance(60_000);
      const third = await read(config, ["deployments"], stateFileFrom(second.messages));
      const emitted = records(third.messages, "deployments");
      const success = emitted.find((d) => d.pipeline_uuid === good.uuid && d.status === "SUCCESSFUL");
      const again = emitted.filter((d) => d.id === failed!.id);
      assert.ok(success, "the success is emitted");
      assert.equal(again.length, 1, "the failed deployment is emitted again, once");
      // The last record of an id is what a deduplicating destination keeps: it must say when it was restored.
      assert.equal(again[0]!.restored_after_seconds, (at(success) - at(failed!)) / 1000);
    } finally {
      await proxy.close();
      await sim.close();
    }
  });
});
