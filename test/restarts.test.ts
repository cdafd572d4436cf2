// Issue 4: a read killed at any point (SIGKILL, as when a container is evicted) and resumed from
// the last STATE of each stream it printed loses nothing; the duplicates a resume costs are bounded
// by the README's checkpoint rule.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { after, before, describe, test } from "node:test";
import { assertSameSet, repoUuids, runUuids } from "./helpers/expect.js";
import { catalogFile, writeJson } from "./helpers/files.js";
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
import { SECRETS, simConfigFile } from "./helpers/sim-config.js";
import { runVirtual } from "./helpers/virtual-clock.js";
import { type Simulator, startSimulator } from "./simulator/index.js";
import { mulberry32 } from "./simulator/random.js";

const REPOSITORIES = 30;
const RUNS_PER_REPOSITORY = 40;
const PAGE_SIZE = 10;
const KILLS = 24;
const STREAMS = ["repositories", "pipelines"] as const;

interface PartialRun {
  /** Complete lines received before the process ended (a line cut by the kill is dropped, as a platform would). */
  messages: Message[];
  killed: boolean;
  code: number | null;
  stderr: string;
  stdout: string;
}

/** Runs the built CLI and SIGKILLs it once `killAfter` complete lines have arrived (never, when undefined). */
function runAndKill(args: string[], killAfter: number | undefined): Promise<PartialRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["dist/main.js", ...args], { stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    let lines = 0;
    let killed = false;
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => {
      stdout += chunk;
      for (const c of chunk) if (c === "\n") lines++;
      if (!killed && killAfter !== undefined && lines >= killAfter) {
        killed = child.kill("SIGKILL");
      }
    });
    child.stderr.setEncoding("utf8").on("data", (d: string) => (stderr += d));
    const timer = setTimeout(() => child.kill("SIGKILL"), 60_000);
    child.on("error", reject);
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      const complete = stdout.slice(0, stdout.lastIndexOf("\n") + 1);
      const messages = complete
        .split("\n")
        .filter((l) => l !== "")
        .map((l) => JSON.parse(l) as Message);
      resolve({ messages, killed: killed && signal === "SIGKILL", code, stderr, stdout });
    });
  });
}

describe("restarts", () => {
  let sim: Simulator;
  before(async () => {
    sim = await startSimulator({ seed: 2024, repositories: REPOSITORIES, runsPerRepository: RUNS_PER_REPOSITORY, latencyMs: 3 });
  });
  after(() => sim.close());

  test(`SIGKILLed at ${KILLS} seeded points and resumed each time: every record arrives, duplicates per resume are bounded`, {
    timeout: 300_000,
  }, async (t) => {
    const config = simConfigFile(sim, { page_size: PAGE_SIZE });
    const catalog = catalogFile([...STREAMS]);
    const random = mulberry32(0x5eed);
    /** The platform's saved state: the last STATE of each stream received so far, over all runs. */
    const saved = new Map<string, Message>();
    const emitted = new Map<string, Set<string>>(STREAMS.map((s) => [s, new Set<string>()]));
    const duplicates: Array<Record<string, number>> = [];
    const killPoints: number[] = [];
    let kills = 0;
    let final: PartialRun | undefined;

    for (let attempt = 0; attempt <= KILLS; attempt++) {
      // The first kill lands in the repositories stream (it comes first), the others anywhere.
      const killAfter =
        attempt >= KILLS ? undefined : attempt === 0 ? 3 + Math.floor(random() * 20) : 5 + Math.floor(random() * 100);
      const args = ["read", "--config", config, "--catalog", catalog];
      if (saved.size > 0) args.push("--state", writeJson([...saved.values()], "state"));
      const run = await runAndKill(args, killAfter);
      assertValidMessages(run.messages);
      assertNoSecrets(run.stdout + run.stderr, SECRETS);
      if (attempt > 0) {
        const dup: Record<string, number> = {};
        for (const stream of STREAMS)
          dup[stream] = records(run.messages, stream).filter((r) => emitted.get(stream)!.has(r.uuid)).length;
        duplicates.push(dup);
      }
      for (const stream of STREAMS) for (const r of records(run.messages, stream)) emitted.get(stream)!.add(r.uuid);
      for (const s of stateFileFrom(run.messages)) saved.set(s.stream.stream_descriptor.name, s);
      if (run.killed) {
        kills++;
        killPoints.push(run.messages.length);
        continue;
      }
      // Not killed: the read ran to its end.
      final = run;
      if (attempt < KILLS)
        assert.fail(`run ${attempt + 1} finished before its kill point (${killAfter} lines): the chain ended early`);
    }

    assert.ok(final, "a final run completed");
    assert.equal(kills, KILLS, "every seeded kill point was reached");
    assert.equal(final.code, 0, final.stderr);
    assert.deepEqual(errors(final.messages), []);
    for (const stream of STREAMS) assert.equal(statuses(final.messages, stream).at(-1), "COMPLETE", stream);

    // The union of every partial run and the final one is the dataset, exactly.
    assertSameSet(emitted.get("repositories")!, repoUuids(sim), "repositories over all runs");
    assertSameSet(emitted.get("pipelines")!, runUuids(sim), "pipelines over all runs");
    assert.equal(emitted.get("pipelines")!.size, REPOSITORIES * RUNS_PER_REPOSITORY);

    // README: the pipelines stream prints STATE after a repository once the records since the last
    // one outweigh it, or once a twentieth of the repositories are done. So a resume redoes at most
    // ceil(30 / 20) = 2 repositories: at most 2 × 40 pipelines records. The repositories stream
    // saves its cursor once, at its end: a kill before that repeats at most the whole listing (30).
    const pipelineBound = Math.ceil(REPOSITORIES / 20) * RUNS_PER_REPOSITORY;
    const total = { repositories: 0, pipelines: 0 };
    duplicates.forEach((d, i) => {
      assert.ok(
        d.pipelines! <= pipelineBound,
        `resume ${i + 1} re-emitted ${d.pipelines} pipelines records (bound ${pipelineBound})`,
      );
      assert.ok(d.repositories! <= REPOSITORIES, `resume ${i + 1} re-emitted ${d.repositories} repositories records`);
      total.repositories += d.repositories!;
      total.pipelines += d.pipelines!;
    });
    const resumes = duplicates.length;
    const max = (s: string) => Math.max(...duplicates.map((d) => d[s]!));
    const summary =
      `${kills} SIGKILLs (after ${killPoints.join(", ")} lines) + 1 final run over ${REPOSITORIES} repositories × ${RUNS_PER_REPOSITORY} runs (page_size ${PAGE_SIZE}); ` +
      `duplicates per resume: pipelines mean ${(total.pipelines / resumes).toFixed(1)}, max ${max("pipelines")} (bound ${pipelineBound}), total ${total.pipelines}; ` +
      `repositories mean ${(total.repositories / resumes).toFixed(1)}, max ${max("repositories")}, total ${total.repositories}`;
    t.diagnostic(summary);
    console.log(`restarts: ${summary}`);
    // The final run only finishes the rest: it does not start over.
    assert.ok(
      records(final.messages, "pipelines").length < REPOSITORIES * RUNS_PER_REPOSITORY,
      "the final run resumed, not restarted",
    );
    assert.ok(ofType(final.messages, "STATE").length >= 2);
  });
});

describe("a large repository read slowly is checkpointed inside", () => {
  let sim: Simulator;
  before(async () => {
    sim = await startSimulator({ seed: 8, repositories: 1, runsPerRepository: 120 });
  });
  after(() => sim.close());

  test("a STATE every 10 minutes inside the repository; a sync stopped after one reads on below it", async () => {
    const [repo] = sim.repositories();
    const uuid = repo!.uuid as string;
    // One request a minute: the 12 pages and 120 steps requests take about two hours.
    const config = simConfigFile(sim, { page_size: 10, max_requests_per_hour: 60 });
    const catalog = catalogFile(["pipelines", "pipeline_steps", "deployments"]);
    const full = await runVirtual(["read", "--config", config, "--catalog", catalog]);
    assert.equal(full.code, 0);
    assertValidMessages(full.messages);
    const partialAt = full.messages.flatMap((m, i) =>
      m.type === "STATE" &&
      m.state.stream.stream_descriptor.name === "pipeline_steps" &&
      m.state.stream.stream_state.repositories?.[uuid]?.partial
        ? [i]
        : [],
    );
    assert.ok(partialAt.length >= 5, `${partialAt.length} STATEs inside the repository`);

    // Stop after the third such STATE: what was written before it, then a resume from it.
    const cut = partialAt[2]!;
    const before = full.messages.slice(0, cut + 1);
    const stepsRequests = () => sim.requests.filter((r) => r.path.endsWith("/steps/")).length;
    const requestsBefore = stepsRequests();
    const resumed = await runVirtual([
      "read",
      "--config",
      config,
      "--catalog",
      catalog,
      "--state",
      writeJson(stateFileFrom(before), "state"),
    ]);
    assert.equal(resumed.code, 0);
    for (const stream of ["pipelines", "pipeline_steps", "deployments"]) {
      const key = (r: Message) => (stream === "deployments" ? r.id : r.uuid) as string;
      const union = new Set([...records(before, stream), ...records(resumed.messages, stream)].map(key));
      const all = new Set(records(full.messages, stream).map(key));
      assert.ok(all.size > 0, stream);
      assertSameSet(union, all, `${stream}: what was written before the stop and the resume`);
    }
    const runsBefore = new Set(records(before, "pipelines").map((r) => r.uuid));
    const stepsAgain = stepsRequests() - requestsBefore;
    assert.ok(
      stepsAgain <= 120 - runsBefore.size + 1,
      `${stepsAgain} steps requests on resume, ${runsBefore.size} runs read before the stop`,
    );
  });
});
