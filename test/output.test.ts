// Issue 4: output under pressure. A consumer that stops reading stdout pauses the sync (bounded
// memory, no requests piling up) and loses nothing once it reads again; a consumer that goes away
// makes the connector exit promptly, without a stack trace.
import assert from "node:assert/strict";
import { type ChildProcessWithoutNullStreams, spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { after, before, describe, test } from "node:test";
import { setTimeout as delay } from "node:timers/promises";
import { assertSameSet, repoUuids, runUuids, STACK_FRAME } from "./helpers/expect.js";
import { catalogFile } from "./helpers/files.js";
import { assertNoSecrets, errors, type Message, statuses } from "./helpers/protocol.js";
import { SECRETS, simConfigFile } from "./helpers/sim-config.js";
import { type Simulator, startSimulator } from "./simulator/index.js";

const REPOSITORIES = 50;
const RUNS_PER_REPOSITORY = 400;
const MB = 1024 * 1024;

function rssBytes(pid: number): number | undefined {
  try {
    const match = /VmRSS:\s+(\d+)\s+kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return match ? Number(match[1]) * 1024 : undefined;
  } catch {
    return undefined; // the process is gone
  }
}

function spawnRead(config: string): ChildProcessWithoutNullStreams {
  return spawn(
    process.execPath,
    ["dist/main.js", "read", "--config", config, "--catalog", catalogFile(["repositories", "pipelines"])],
    {
      stdio: ["pipe", "pipe", "pipe"],
    },
  );
}

function exited(child: ChildProcessWithoutNullStreams): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve({ code: child.exitCode, signal: child.signalCode });
    else child.once("exit", (code, signal) => resolve({ code, signal }));
  });
}

/** Resolves once the child has printed `count` lines. */
function linesRead(child: ChildProcessWithoutNullStreams, count: number): Promise<void> {
  let lines = 0;
  return new Promise((resolve) => {
    child.stdout.on("data", (chunk: Buffer) => {
      for (const byte of chunk) if (byte === 0x0a) lines++;
      if (lines >= count) resolve();
    });
  });
}

describe("output under pressure", () => {
  let sim: Simulator;
  before(async () => {
    sim = await startSimulator({ seed: 808, repositories: REPOSITORIES, runsPerRepository: RUNS_PER_REPOSITORY });
  });
  after(() => sim.close());

  test("a consumer that pauses: the connector waits with bounded memory, then delivers everything", {
    timeout: 150_000,
  }, async (t) => {
    const child = spawnRead(simConfigFile(sim));
    const killer = setTimeout(() => child.kill("SIGKILL"), 120_000);
    const chunks: string[] = [];
    let bytes = 0;
    let stderr = "";
    child.stderr.setEncoding("utf8").on("data", (d: string) => (stderr += d));
    const done = exited(child);
    const stdoutClosed = new Promise((resolve) => child.stdout.once("close", resolve));
    try {
      // Read until a good part of the pipelines stream is flowing, then stop reading.
      await new Promise<void>((resolve) => {
        const onData = (chunk: Buffer) => {
          chunks.push(chunk.toString("utf8"));
          bytes += chunk.length;
          if (bytes >= 2 * MB) {
            child.stdout.off("data", onData);
            child.stdout.pause();
            resolve();
          }
        };
        child.stdout.on("data", onData);
      });
      await delay(500); // let the pipe and the connector's buffers fill
      const requestsAtPause = sim.requests.length;
      const samples: number[] = [];
      for (let i = 0; i < 12; i++) {
        const rss = rssBytes(child.pid!);
        assert.ok(rss !== undefined, "the connector is still running while paused");
        samples.push(rss);
        await delay(250);
      }
      const requestsDuringPause = sim.requests.length - requestsAtPause;

      // Read again, to the end.
      child.stdout.on("data", (chunk: Buffer) => {
        chunks.push(chunk.toString("utf8"));
        bytes += chunk.length;
      });
      child.stdout.resume();
      const { code } = await done;
      await stdoutClosed;
      const stdout = chunks.join("");
      assertNoSecrets(stdout + stderr, SECRETS);
      const messages = stdout
        .split("\n")
        .filter((l) => l !== "")
        .map((l) => JSON.parse(l) as Message);

      const peak = Math.max(...samples);
      const growth = samples.at(-1)! - samples[0]!;
      const summary = `output ${(bytes / MB).toFixed(1)} MB; RSS while paused ${(samples[0]! / MB).toFixed(0)}…${(peak / MB).toFixed(0)} MB (growth ${(growth / MB).toFixed(1)} MB); ${requestsDuringPause} requests during the 3 s pause`;
      t.diagnostic(summary);

      assert.equal(code, 0, stderr);
      assert.deepEqual(errors(messages), []);
      for (const stream of ["repositories", "pipelines"]) assert.equal(statuses(messages, stream).at(-1), "COMPLETE");
      const runs = new Set(
        messages.filter((m) => m.type === "RECORD" && m.record.stream === "pipelines").map((m) => m.record.data.uuid as string),
      );
      assertSameSet(runs, runUuids(sim), "pipelines after the pause");
      assertSameSet(
        new Set(
          messages
            .filter((m) => m.type === "RECORD" && m.record.stream === "repositories")
            .map((m) => m.record.data.uuid as string),
        ),
        repoUuids(sim),
        "repositories after the pause",
      );
      assert.ok(bytes > 20 * MB, `the workspace is large next to the memory bound (${(bytes / MB).toFixed(1)} MB of output)`);
      // Bounded, and not growing with the data: the pause stalls the sync instead of buffering it.
      assert.ok(peak < 150 * MB, `RSS ${(peak / MB).toFixed(0)} MB while paused`);
      assert.ok(growth < 10 * MB, `RSS grew ${(growth / MB).toFixed(1)} MB during the pause`);
      // Without backpressure the 200 pages would all be fetched during the pause; with it, at most
      // the pages the in-flight repositories buffer ahead (a few per concurrent repository).
      assert.ok(requestsDuringPause <= 20, `${requestsDuringPause} requests while the consumer was not reading`);
    } finally {
      clearTimeout(killer);
      child.kill("SIGKILL");
    }
  });

  test("a consumer that goes away: the connector exits promptly, without a stack trace", { timeout: 90_000 }, async (t) => {
    const child = spawnRead(simConfigFile(sim));
    const killer = setTimeout(() => child.kill("SIGKILL"), 60_000);
    let stderr = "";
    child.stderr.setEncoding("utf8").on("data", (d: string) => (stderr += d));
    const done = exited(child);
    try {
      await linesRead(child, 50);
      const closedAt = Date.now();
      child.stdout.destroy();
      const { code, signal } = await done;
      const took = Date.now() - closedAt;
      await delay(50); // the last of stderr
      t.diagnostic(`exited ${took} ms after stdout closed, code ${code}, stderr: ${JSON.stringify(stderr)}`);
      assert.equal(signal, null, "it exited by itself (not killed by the test's timeout)");
      assert.ok(took < 5_000, `exited ${took} ms after its reader went away`);
      assert.notEqual(code, 0, "a read whose output was lost does not report success");
      assert.doesNotMatch(stderr, STACK_FRAME, `stack trace on stderr:\n${stderr}`);
      assertNoSecrets(stderr, SECRETS);
      const requestsAfter = sim.requests.length;
      await delay(300);
      assert.equal(sim.requests.length, requestsAfter, "no request after the exit");
    } finally {
      clearTimeout(killer);
      child.kill("SIGKILL");
    }
  });

  test("a consumer that goes away while the connector waits out a rate limit: it exits promptly too", {
    timeout: 60_000,
  }, async (t) => {
    const child = spawnRead(simConfigFile(sim, { page_size: 20 }));
    let stderr = "";
    child.stderr.setEncoding("utf8").on("data", (d: string) => (stderr += d));
    const done = exited(child);
    try {
      await linesRead(child, 50);
      // Bitbucket starts answering 429 (the real one for up to an hour); once the connector is
      // in its backoff, its reader goes away.
      const from = sim.requests.length;
      sim.inject({ kind: "429", times: 1_000_000 });
      while (!sim.requests.slice(from).some((r) => r.status === 429)) await delay(20);
      await delay(100);
      const closedAt = Date.now();
      child.stdout.destroy();
      const outcome = await Promise.race([done, delay(15_000).then(() => undefined)]);
      const took = Date.now() - closedAt;
      t.diagnostic(
        outcome
          ? `exited ${took} ms after stdout closed, code ${outcome.code}`
          : `still running ${took} ms after stdout closed (${sim.requests.length - from} requests meanwhile)`,
      );
      assert.ok(
        outcome,
        `still running ${Math.round(took / 1000)} s after its reader went away: it keeps waiting out 429s for no one`,
      );
      assert.ok(took < 10_000, `exited ${took} ms after its reader went away`);
      assert.equal(outcome.signal, null);
      assert.doesNotMatch(stderr, STACK_FRAME, `stack trace on stderr:\n${stderr}`);
    } finally {
      sim.clearFaults();
      child.kill("SIGKILL");
    }
  });
});
