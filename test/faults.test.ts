// Issue 4: reads under API faults. Every scenario runs the CLI in-process with a fake clock (backoffs
// cost no real time) against the simulator, and ends either with complete data (every repository and
// run exactly once) or, when the retry budget is spent, with a transient_error TRACE, an INCOMPLETE
// stream, exit 1 and a last STATE from which a later read completes the data. A proxy
// (helpers/http-stubs.ts) rewrites responses for what the simulator cannot do (odd data, `next`
// links elsewhere, time-based rate limits); helpers/virtual-clock.ts measures waits that overlap.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { assertCompleted, assertSameSet, repoUuids, runUuids, uuidsOnce } from "./helpers/expect.js";
import { catalogFile, writeJson } from "./helpers/files.js";
import { expectedRunFields } from "./helpers/flat-fields.js";
import { startProxy, startTrap } from "./helpers/http-stubs.js";
import { type InProcessResult, runInProcess } from "./helpers/in-process.js";
import {
  assertNoSecrets,
  assertValidMessages,
  errors,
  type Message,
  ofType,
  records,
  stateFileFrom,
  states,
  statuses,
} from "./helpers/protocol.js";
import { SECRETS, simConfigFile } from "./helpers/sim-config.js";
import { runVirtual, VirtualClock } from "./helpers/virtual-clock.js";
import { type Fault, type PipelineJson, type Simulator, startSimulator } from "./simulator/index.js";
import { mulberry32 } from "./simulator/random.js";

const STREAMS = ["repositories", "pipelines"];
const RUNS = [23, 0, 41, 7, 30];
const PIPELINE_PAGES = /\/pipelines\/\?/;
const REPOSITORY_LISTING = /\/repositories\/acme\?/;

async function readIn(
  config: string,
  options: { state?: unknown; requestTimeoutMs?: number; catalog?: string } = {},
): Promise<InProcessResult> {
  const args = ["read", "--config", config, "--catalog", options.catalog ?? catalogFile(STREAMS)];
  if (options.state !== undefined) args.push("--state", writeJson(options.state, "state"));
  const result = await runInProcess(args, options.requestTimeoutMs ? { requestTimeoutMs: options.requestTimeoutMs } : {});
  assertValidMessages(result.messages);
  assertNoSecrets(result.stdout + result.stderr, SECRETS);
  return result;
}

/** Complete data, each record exactly once. */
function assertCompleteData(result: InProcessResult, sim: Simulator): void {
  assertCompleted(result, STREAMS);
  assertSameSet(uuidsOnce(result.messages, "repositories"), repoUuids(sim), "repositories");
  assertSameSet(uuidsOnce(result.messages, "pipelines"), runUuids(sim), "pipelines");
}

/** The read gave up on `stream` the way the README says a spent retry budget ends. */
function assertGaveUp(result: InProcessResult, stream: string, budgetS: number, reason: RegExp): Message {
  assert.notEqual(result.code, 0, "exit code");
  assert.equal(statuses(result.messages, stream).at(-1), "INCOMPLETE", `${stream} statuses`);
  const failures = errors(result.messages).filter((e) => e.stream_descriptor?.name === stream);
  assert.equal(failures.length, 1, `one TRACE ERROR for ${stream}: ${JSON.stringify(errors(result.messages))}`);
  const error = failures[0]!;
  assert.equal(error.failure_type, "transient_error");
  assert.match(error.message, reason);
  assert.match(error.message, new RegExp(`retry wait budget of ${budgetS} s is spent \\(config max_retry_wait_seconds`));
  assert.ok(result.sleptMs <= budgetS * 1000, `slept ${result.sleptMs} ms, budget ${budgetS} s`);
  assert.ok(result.sleptMs > 0, "it retried before giving up");
  // No STATE after the failure: the last one printed covers only records emitted before it.
  const errorAt = result.messages.findIndex((m) => m.type === "TRACE" && m.trace.type === "ERROR");
  const lastStateAt = result.messages.findLastIndex(
    (m) => m.type === "STATE" && m.state.stream.stream_descriptor.name === stream,
  );
  assert.ok(lastStateAt < errorAt, "no STATE of the failed stream after its TRACE ERROR");
  return error;
}

describe("faults: each retried to complete data", { timeout: 120_000 }, () => {
  let sim: Simulator;
  let config: string;
  let baseline: number;
  before(async () => {
    sim = await startSimulator({ seed: 4242, repositories: RUNS.length, runsPerRepository: (i) => RUNS[i] ?? 0 });
    // One repository at a time, so which request meets which fault (and each wait) is deterministic.
    config = simConfigFile(sim, { page_size: 10, concurrency: 1 });
    sim.requests.length = 0;
    const clean = await readIn(config);
    assertCompleteData(clean, sim);
    assert.equal(clean.sleptMs, 0);
    baseline = sim.requests.length;
  });
  after(() => sim.close());

  // [what, fault, expected fake wait in ms (README: 429 → 5, 15, 30, 60 s…; others → 1, 2, 4 … s), request timeout]
  const scenarios: Array<[string, Fault, number, number?]> = [
    [
      "three plain-text 429s (no Retry-After) on a pipelines page",
      { kind: "429", match: PIPELINE_PAGES, skip: 2, times: 3 },
      5_000 + 15_000 + 30_000,
    ],
    [
      "four 429s on the repositories listing",
      { kind: "429", match: REPOSITORY_LISTING, times: 4 },
      5_000 + 15_000 + 30_000 + 60_000,
    ],
    ["a 429 with Retry-After: 7", { kind: "429", match: PIPELINE_PAGES, skip: 5, times: 1, retryAfter: 7 }, 7_000],
    ["three 500s", { kind: "500", match: PIPELINE_PAGES, skip: 4, times: 3 }, 1_000 + 2_000 + 4_000],
    ["two 502s (HTML body)", { kind: "502", match: PIPELINE_PAGES, skip: 7, times: 2 }, 1_000 + 2_000],
    [
      "five 503s on the repositories listing",
      { kind: "503", match: REPOSITORY_LISTING, times: 5 },
      1_000 + 2_000 + 4_000 + 8_000 + 16_000,
    ],
    ["two connection resets in the middle of a body", { kind: "reset", match: PIPELINE_PAGES, skip: 3, times: 2 }, 1_000 + 2_000],
    ["two truncated JSON bodies", { kind: "truncate", match: PIPELINE_PAGES, skip: 9, times: 2 }, 1_000 + 2_000],
    ["a truncated repositories page", { kind: "truncate", match: REPOSITORY_LISTING, times: 1 }, 1_000],
    ["two 200s with an HTML maintenance page", { kind: "non-json", match: PIPELINE_PAGES, skip: 1, times: 2 }, 1_000 + 2_000],
    [
      "two responses slower than the request timeout",
      { kind: "slow", delayMs: 3_000, match: PIPELINE_PAGES, skip: 6, times: 2 },
      1_000 + 2_000,
      200,
    ],
    ["a request that is never answered", { kind: "hang", match: PIPELINE_PAGES, skip: 8, times: 1 }, 1_000, 200],
  ];
  for (const [what, fault, waitMs, timeoutMs] of scenarios) {
    test(`${what}: complete data, each record once, ${waitMs / 1000} s of backoff`, async () => {
      sim.clearFaults();
      sim.requests.length = 0;
      sim.inject(fault);
      const result = await readIn(config, timeoutMs ? { requestTimeoutMs: timeoutMs } : {});
      assertCompleteData(result, sim);
      // Only the failed request was repeated, once per fault: no page restarted, none skipped.
      assert.equal(sim.requests.length, baseline + (fault.times ?? 1), "requests: the clean read's plus one retry per fault");
      assert.ok(Math.abs(result.sleptMs - waitMs) <= 50, `slept ${result.sleptMs} ms, expected ${waitMs}`);
      const warnings = ofType(result.messages, "LOG").filter((m) => m.log.level === "WARN" && /retrying in/.test(m.log.message));
      assert.equal(warnings.length, fault.times ?? 1, "one WARN log per retry");
    });
  }

  test("a seeded mix of every fault kind: complete data within the default budget", async (t) => {
    const random = mulberry32(20_250_601);
    const kinds: Fault["kind"][] = ["429", "500", "502", "503", "reset", "truncate", "non-json", "slow", "hang"];
    sim.clearFaults();
    const injected: Fault[] = [];
    for (let i = 0; i < 16; i++) {
      const kind = kinds[Math.floor(random() * kinds.length)]!;
      const fault: Fault = {
        kind,
        match: random() < 0.8 ? PIPELINE_PAGES : REPOSITORY_LISTING,
        skip: Math.floor(random() * 10),
        times: 1 + Math.floor(random() * 2),
        ...(kind === "slow" ? { delayMs: 3_000 } : {}),
      };
      injected.push(fault);
      sim.inject(fault);
    }
    sim.requests.length = 0;
    // The default concurrency: several repositories in flight meet the faults.
    const result = await readIn(simConfigFile(sim, { page_size: 10 }), { requestTimeoutMs: 200 });
    sim.clearFaults();
    assertCompleteData(result, sim);
    assert.ok(sim.requests.length > baseline, "some faults were hit");
    assert.ok(result.sleptMs <= 1_800_000, `slept ${result.sleptMs} ms`);
    t.diagnostic(
      `seeded fault mix: ${injected.map((f) => `${f.kind}×${f.times}`).join(" ")}; ${sim.requests.length - baseline} retried requests, ${result.sleptMs / 1000} s of fake backoff`,
    );
  });
});

describe("faults: a spent retry budget fails transiently and a later read resumes", { timeout: 120_000 }, () => {
  let sim: Simulator;
  before(async () => {
    sim = await startSimulator({ seed: 99, repositories: RUNS.length, runsPerRepository: (i) => RUNS[i] ?? 0 });
  });
  after(() => sim.close());

  // skip 6 pipelines pages: repositories 0 (3 pages) and 1 (1 page) are done, then 2 pages of repository 2.
  const bursts: Array<[string, Fault, RegExp, number?]> = [
    ["a long burst of 429s", { kind: "429", match: PIPELINE_PAGES, skip: 6, times: 1_000 }, /429 rate limited/],
    ["a long run of 503s", { kind: "503", match: PIPELINE_PAGES, skip: 6, times: 1_000 }, /503/],
    [
      "a server that stops answering",
      { kind: "hang", match: PIPELINE_PAGES, skip: 6, times: 1_000 },
      /no response within the request timeout/,
      200,
    ],
    [
      "resets on every request",
      { kind: "reset", match: PIPELINE_PAGES, skip: 6, times: 1_000 },
      /connection|closed|reset|socket/i,
    ],
  ];
  for (const [what, fault, reason, timeoutMs] of bursts) {
    test(`${what} with max_retry_wait_seconds = 20: transient_error, INCOMPLETE, exit 1; the next read completes`, async () => {
      const budget = 20;
      const config = simConfigFile(sim, { page_size: 10, max_retry_wait_seconds: budget, concurrency: 1 });
      sim.clearFaults();
      sim.inject(fault);
      const first = await readIn(config, timeoutMs ? { requestTimeoutMs: timeoutMs } : {});
      sim.clearFaults();
      assertGaveUp(first, "pipelines", budget, reason);
      assert.equal(statuses(first.messages, "repositories").at(-1), "COMPLETE", "the other stream still ran");
      assert.ok(states(first.messages, "pipelines").length >= 1, "STATE was printed before the failure");

      // The first repository (23 runs) is covered by the last STATE: the resumed read must not redo it.
      const firstRepo = sim.repositories()[0]!;
      const firstRepoRuns = new Set(sim.runs(firstRepo.slug).map((r) => r.uuid));
      const second = await readIn(config, { state: stateFileFrom(first.messages) });
      assertCompleted(second, STREAMS);
      const again = records(second.messages, "pipelines").filter((r) => firstRepoRuns.has(r.uuid));
      assert.deepEqual(
        again.map((r) => r.uuid),
        [],
        "runs covered by the last STATE are not read again",
      );
      for (const stream of STREAMS) {
        const union = new Set([...records(first.messages, stream), ...records(second.messages, stream)].map((r) => r.uuid));
        assertSameSet(union, stream === "pipelines" ? runUuids(sim) : repoUuids(sim), `${stream}: union of both reads`);
      }
    });
  }

  test("one repository that keeps failing with 500s does not stop the others; the next read completes it", async () => {
    const broken = sim.repositories()[2]!;
    const config = simConfigFile(sim, { page_size: 10, max_retry_wait_seconds: 20 });
    sim.clearFaults();
    sim.inject({ kind: "500", match: new RegExp(`/${broken.slug}/pipelines/\\?`), times: 1_000 });
    const first = await readIn(config);
    sim.clearFaults();
    assert.equal(first.code, 1);
    assert.equal(statuses(first.messages, "pipelines").at(-1), "INCOMPLETE");
    const [error, ...more] = errors(first.messages);
    assert.deepEqual(more, []);
    assert.match(
      error?.message ?? "",
      new RegExp(`1 of ${RUNS.length} repositories could not be read in full \\(acme/${broken.slug}\\)`),
    );
    const brokenRuns = new Set(sim.runs(broken.slug as string).map((r) => r.uuid));
    const others = [...runUuids(sim)].filter((uuid) => !brokenRuns.has(uuid));
    assertSameSet(
      new Set(records(first.messages, "pipelines").map((r) => r.uuid as string)),
      new Set(others),
      "every run of the other repositories",
    );
    const second = await readIn(config, { state: stateFileFrom(first.messages) });
    assertCompleted(second, STREAMS);
    assertSameSet(
      new Set(records(second.messages, "pipelines").map((r) => r.uuid as string)),
      brokenRuns,
      "the next read reads only the repository that failed",
    );
  });

  test("a long 429 burst with the default concurrency (several repositories in flight): the same ending, and the resume completes", async () => {
    const budget = 20;
    const config = simConfigFile(sim, { page_size: 10, max_retry_wait_seconds: budget });
    sim.clearFaults();
    sim.inject({ kind: "429", match: PIPELINE_PAGES, skip: 6, times: 1_000 });
    const first = await runVirtual(["read", "--config", config, "--catalog", catalogFile(STREAMS)]);
    sim.clearFaults();
    assertValidMessages(first.messages);
    assertNoSecrets(first.stdout + first.stderr, SECRETS);
    assert.equal(first.code, 1);
    assert.equal(statuses(first.messages, "pipelines").at(-1), "INCOMPLETE");
    const [error, ...more] = errors(first.messages);
    assert.deepEqual(more, []);
    assert.equal(error?.failure_type, "transient_error");
    assert.match(error?.message ?? "", /429 rate limited.*retry wait budget of 20 s is spent/);
    assert.ok(first.waitedMs <= budget * 1000, `waited ${first.waitedMs} ms`);
    const second = await readIn(config, { state: stateFileFrom(first.messages) });
    assertCompleted(second, STREAMS);
    const union = new Set([...records(first.messages, "pipelines"), ...records(second.messages, "pipelines")].map((r) => r.uuid));
    assertSameSet(union, runUuids(sim), "pipelines: union of both reads");
  });

  test("connection refused (closed port): the sync stops transiently, naming the host, within the budget", async () => {
    const config = writeJson(
      {
        workspace: "acme",
        credentials: { auth_type: "bearer", token: "sim-token" },
        api_url: "http://127.0.0.1:9/2.0",
        max_retry_wait_seconds: 60,
      },
      "config",
    );
    const result = await readIn(config);
    assert.equal(result.code, 1);
    for (const stream of STREAMS) {
      assert.equal(statuses(result.messages, stream).at(-1), "INCOMPLETE", stream);
    }
    // The error table says an unreachable API stops the sync: the second stream is not tried.
    const errs = errors(result.messages);
    assert.equal(errs.length, 1, JSON.stringify(errs));
    for (const e of errs) {
      assert.equal(e.failure_type, "transient_error");
      assert.match(e.message, /127\.0\.0\.1:9/);
      assert.match(e.message, /connection refused/);
    }
    assert.ok(result.sleptMs > 0 && result.sleptMs <= 60_000, `slept ${result.sleptMs} ms`);
    assert.deepEqual(records(result.messages), []);
  });
});

describe("faults: check gives up within about a minute with a mappable code", { timeout: 120_000 }, () => {
  let sim: Simulator;
  before(async () => {
    sim = await startSimulator({ seed: 8, repositories: 2, runsPerRepository: 5 });
  });
  after(() => sim.close());

  const cases: Array<[string, Fault, RegExp]> = [
    ["endless 429s", { kind: "429", times: 1_000 }, /^rate_limited: .*127\.0\.0\.1:\d+.*429/],
    ["endless 503s", { kind: "503", times: 1_000 }, /^server_error: .*127\.0\.0\.1:\d+.*503/],
    ["endless connection resets", { kind: "reset", times: 1_000 }, /^unreachable: .*127\.0\.0\.1:\d+/],
    [
      "endless maintenance pages (200, HTML)",
      { kind: "non-json", times: 1_000 },
      /^server_error: .*127\.0\.0\.1:\d+.*not valid JSON/,
    ],
  ];
  for (const [what, fault, expected] of cases) {
    test(`${what}: one CONNECTION_STATUS FAILED naming the host, exit 0, at most 30 s of waiting`, async () => {
      sim.clearFaults();
      sim.inject(fault);
      const result = await runInProcess(["check", "--config", simConfigFile(sim)]);
      sim.clearFaults();
      assertValidMessages(result.messages);
      assertNoSecrets(result.stdout + result.stderr, SECRETS);
      assert.equal(result.code, 0);
      assert.equal(result.messages.length, 1);
      const status = result.messages[0]!.connectionStatus as { status: string; message: string };
      assert.equal(status.status, "FAILED");
      assert.match(status.message, expected);
      assert.ok(result.sleptMs > 0 && result.sleptMs <= 30_000, `slept ${result.sleptMs} ms`);
    });
  }
});

describe("faults: the token never leaves api_url's origin", { timeout: 120_000 }, () => {
  let sim: Simulator;
  before(async () => {
    sim = await startSimulator({ seed: 5, repositories: 3, runsPerRepository: 12 });
  });
  after(() => sim.close());

  test("a redirect to another host is refused with a clear error, and nothing reaches that host", async () => {
    // The simulator redirects to http://127.0.0.2:<its port>: listen there to see what arrives.
    const trap = await startTrap("127.0.0.2", new URL(sim.origin).port === "" ? 80 : Number(new URL(sim.origin).port));
    try {
      sim.clearFaults();
      sim.inject({ kind: "redirect-offsite", match: PIPELINE_PAGES, times: 1 });
      const result = await readIn(simConfigFile(sim, { page_size: 5 }));
      sim.clearFaults();
      assert.equal(result.code, 1);
      assert.equal(statuses(result.messages, "pipelines").at(-1), "INCOMPLETE");
      assert.equal(statuses(result.messages, "repositories").at(-1), "COMPLETE");
      const [error] = errors(result.messages);
      assert.match(error?.message ?? "", new RegExp(`Refused to send the credentials to ${trap.origin.replaceAll(".", "\\.")}`));
      assert.match(error?.message ?? "", /api_url/);
      // A security refusal stops the sync: not a flaky repository to skip while the others go on.
      assert.doesNotMatch(error?.message ?? "", /could not be read in full/);
      assert.ok(!result.messages.some((m) => m.type === "LOG" && /Stopped reading .* for this sync/.test(m.log.message)));
      assert.deepEqual(trap.requests, [], "the other host received no request");
      assert.ok(sim.requests.every((r) => r.auth === "bearer"));
      assert.equal(result.sleptMs, 0, "a refusal is not retried");
    } finally {
      await trap.close();
    }
  });

  const nextLinks: Array<[string, (trapOrigin: string) => boolean]> = [
    ["a `next` link to another host", () => true],
    ["a `next` link to the same host on another port", () => false],
  ];
  for (const [what, useTrap] of nextLinks) {
    test(`${what} is refused with a clear error, and nothing reaches it`, async () => {
      const trap = await startTrap();
      const toTrap = useTrap(trap.origin);
      // Through a proxy: either `next` is pointed at the trap, or left pointing at the simulator
      // itself (another origin than the proxy the config names).
      const proxy = await startProxy(sim.origin, {
        rewriteOrigin: toTrap,
        transform: (_path, body) => {
          if (toTrap && typeof body?.next === "string") body.next = body.next.replace(/^http:\/\/[^/]+/, trap.origin);
          return body;
        },
      });
      try {
        sim.requests.length = 0;
        const config = simConfigFile(sim, { page_size: 2, api_url: proxy.url });
        const result = await readIn(config);
        const other = toTrap ? trap.origin : sim.origin;
        assert.equal(result.code, 1);
        for (const stream of STREAMS) assert.equal(statuses(result.messages, stream).at(-1), "INCOMPLETE", stream);
        for (const e of errors(result.messages)) {
          assert.match(e.message, new RegExp(`Refused to send the credentials to ${other.replaceAll(".", "\\.")}`));
        }
        assert.deepEqual(trap.requests, [], "the trap received no request");
        assert.equal(sim.requests.length, proxy.requests.length, "every request the simulator saw came through api_url");
      } finally {
        await proxy.close();
        await trap.close();
      }
    });
  }
});

describe("faults: unfinished runs re-fetched by uuid under faults", { timeout: 120_000 }, () => {
  test("503s and a reset on the by-uuid fetches: each finished run is emitted once", async () => {
    const sim = await startSimulator({ seed: 31, repositories: 3, runsPerRepository: 40 });
    try {
      // lookback_hours 0: the next walk stops at the cursor, so unfinished runs below it are fetched by uuid.
      const config = simConfigFile(sim, { page_size: 10, lookback_hours: 0 });
      const slugs = sim.repositories().map((r) => r.slug);
      const now = sim.clock.now().getTime();
      (["PENDING", "IN_PROGRESS", "PAUSED", "HALTED"] as const).forEach((state, i) => {
        sim.addRun(slugs[i % slugs.length]!, { state, createdOn: new Date(now - 2 * 86_400_000 + i * 1000) });
      });
      // Newer finished runs push them off the first page.
      for (const slug of slugs)
        for (let i = 0; i < 12; i++) sim.addRun(slug, { state: "COMPLETED", createdOn: new Date(now - 3_600_000 + i * 1000) });
      const first = await readIn(config, { catalog: catalogFile(["pipelines"]) });
      assertCompleted(first, ["pipelines"]);
      const unfinished = records(first.messages, "pipelines").filter((r) => r.state.name !== "COMPLETED");
      assert.ok(unfinished.length >= 4, `the dataset has unfinished runs (${unfinished.length})`);
      sim.clock.advance(60_000);
      for (const r of unfinished) sim.finishRun(r.repository_full_name.split("/")[1], r.uuid, "FAILED");
      sim.inject({ kind: "503", match: /\/pipelines\/%7B/, times: 2 });
      sim.inject({ kind: "reset", match: /\/pipelines\/%7B/, skip: 1, times: 1 });
      sim.requests.length = 0;
      const second = await readIn(config, { catalog: catalogFile(["pipelines"]), state: stateFileFrom(first.messages) });
      const byUuid = sim.requests.filter((r) => /\/pipelines\/%7B/.test(r.path));
      // The four old unfinished runs are below the cursor: one GET each, plus one per fault (3).
      assert.ok(byUuid.length >= 4 + 3, `by-uuid GETs: ${byUuid.length}`);
      assert.equal(byUuid.filter((r) => r.status === 200).length, byUuid.length - 3, "exactly three of them failed");
      assertCompleted(second, ["pipelines"]);
      const got = uuidsOnce(second.messages, "pipelines");
      assertSameSet(got, new Set(unfinished.map((r) => r.uuid)), "the runs that finished");
      assert.ok(
        records(second.messages, "pipelines").every((r) => r.state.name === "COMPLETED" && r.state.result.name === "FAILED"),
      );
      assert.ok(second.sleptMs >= 1_000 + 2_000, `slept ${second.sleptMs}`);
    } finally {
      await sim.close();
    }
  });
});

describe("odd API data is passed through unchanged", { timeout: 120_000 }, () => {
  let sim: Simulator;
  before(async () => {
    sim = await startSimulator({ seed: 77, repositories: 4, runsPerRepository: 60 });
    // Make sure the dataset holds the odd-but-real values asserted below.
    const [a, b] = sim.repositories();
    sim.addRun(a!.slug, { state: "HALTED", trigger: "schedule" });
    sim.addRun(b!.slug, { state: "PAUSED", trigger: "manual", branch: "release/2.0" });
  });
  after(() => sim.close());

  const decorate = (run: unknown, repo: { uuid: string; full_name: string }) => ({
    ...(run as Message),
    ...expectedRunFields(run as Message),
    repository_uuid: repo.uuid,
    repository_full_name: repo.full_name,
  });

  test("values the simulator generates (HALTED stage, SCHEDULE trigger, no creator) arrive exactly as the API sent them", async () => {
    const result = await readIn(simConfigFile(sim, { page_size: 25 }));
    assertCompleted(result, STREAMS);
    const got = new Map(records(result.messages, "pipelines").map((r) => [r.uuid as string, r]));
    const all: PipelineJson[] = [];
    for (const repo of sim.repositories()) {
      for (const run of sim.runs(repo.slug)) {
        all.push(run);
        assert.deepEqual(got.get(run.uuid), decorate(run, repo), `run ${run.uuid}`);
      }
    }
    assert.ok(
      all.some((r) => r.state.stage?.name === "HALTED"),
      "the dataset has a HALTED run",
    );
    assert.ok(
      all.some((r) => r.trigger.name === "SCHEDULE"),
      "the dataset has a scheduled run",
    );
    assert.ok(
      all.some((r) => r.creator === undefined),
      "the dataset has a run without creator",
    );
    const repos = new Map(records(result.messages, "repositories").map((r) => [r.uuid as string, r]));
    for (const repo of sim.repositories()) assert.deepEqual(repos.get(repo.uuid), repo);
  });

  /** Rewrites some runs the way a newer API might send them; keyed by uuid so every response agrees. */
  function oddify(run: Message): Message {
    const pick = [...String(run.uuid)].reduce((n, c) => n + c.charCodeAt(0), 0) % 5;
    const copy = structuredClone(run);
    switch (pick) {
      case 0: // an unknown top-level state
        copy.state = { type: "pipeline_state_halted", name: "HALTED" };
        break;
      case 1: // an unknown result of a completed run
        copy.state = {
          type: "pipeline_state_completed",
          name: "COMPLETED",
          result: { type: "pipeline_state_completed_not_run", name: "NOT_RUN" },
        };
        break;
      case 2: // a new trigger type, optional members missing
        copy.trigger = { type: "pipeline_trigger_webhook_v2", name: "WEBHOOK" };
        delete copy.creator;
        delete copy.completed_on;
        delete copy.has_variables;
        break;
      case 3: // nulls and a member this connector has never heard of
        copy.creator = null;
        copy.completed_on = null;
        copy.build_seconds_used = null;
        copy.first_successful = null;
        copy.brand_new_member = { nested: [1, "two", null] };
        break;
      default:
        break;
    }
    return copy;
  }

  test("unknown enum values (HALTED, NOT_RUN, new triggers), missing fields and nulls are emitted unchanged, and not re-emitted by the next sync", async () => {
    const proxy = await startProxy(sim.origin, {
      transform: (path, body) => {
        if (/\/pipelines\/?$/.test(path)) return { ...body, values: (body.values as Message[]).map(oddify) };
        if (/\/pipelines\/[^/]+$/.test(path)) return oddify(body);
        return body;
      },
    });
    try {
      const config = simConfigFile(sim, { page_size: 25, api_url: proxy.url });
      const catalog = catalogFile(["pipelines"]);
      const first = await readIn(config, { catalog });
      assertCompleted(first, ["pipelines"]);
      const got = new Map(records(first.messages, "pipelines").map((r) => [r.uuid as string, r]));
      const kinds = new Set<number>();
      for (const repo of sim.repositories()) {
        for (const run of sim.runs(repo.slug)) {
          const expected = decorate(oddify(run), repo);
          assert.deepEqual(got.get(run.uuid), expected, `run ${run.uuid}`);
          kinds.add([...run.uuid].reduce((n, c) => n + c.charCodeAt(0), 0) % 5);
        }
      }
      assert.equal(kinds.size, 5, "every kind of oddity occurred");
      assert.equal(got.size, runUuids(sim).size);

      const second = await readIn(config, { catalog, state: stateFileFrom(first.messages) });
      assertCompleted(second, ["pipelines"]);
      assert.deepEqual(
        records(second.messages, "pipelines").map((r) => `${r.uuid} ${r.state?.name}`),
        [],
        "nothing changed: nothing emitted",
      );
    } finally {
      await proxy.close();
    }
  });
});

describe("faults: the retry budget counts time waited, whatever the concurrency", { timeout: 120_000 }, () => {
  let sim: Simulator;
  before(async () => {
    sim = await startSimulator({ seed: 99, repositories: 8, runsPerRepository: 30 });
  });
  after(() => sim.close());

  // The real API limits by time (a rolling hour), not by a count of requests: the proxy answers
  // every pipelines request with `status` while the virtual clock is inside the window. Read one
  // repository at a time, waiting out the window takes 5+15+30+60 = 110 s (429) or
  // 1+2+4+8+16+30 = 61 s (503): well inside the budget. Reading several repositories at once must
  // not spend the budget faster than time passes.
  const windows: Array<[string, number, number, number, number]> = [
    // [what, status, window s, budget s, concurrency]
    ["a 100 s rate-limit window, one repository at a time", 429, 100, 300, 1],
    ["a 100 s rate-limit window, the default concurrency", 429, 100, 300, 4],
    ["a 60 s outage (503), one repository at a time", 503, 60, 120, 1],
    ["a 60 s outage (503), the default concurrency", 503, 60, 120, 4],
  ];
  for (const [what, status, windowS, budgetS, concurrency] of windows) {
    test(`${what}: ridden out within max_retry_wait_seconds = ${budgetS}`, async (t) => {
      const clock = new VirtualClock();
      const until = clock.now() + windowS * 1000;
      let refused = 0;
      const proxy = await startProxy(sim.origin, {
        intercept: (path) => {
          if (!/\/pipelines/.test(path) || clock.now() >= until) return undefined;
          refused++;
          return {
            status,
            body: status === 429 ? "Rate limit for this resource has been exceeded" : "<html>503 Service Unavailable</html>",
          };
        },
      });
      try {
        const overrides: Record<string, unknown> = { page_size: 10, max_retry_wait_seconds: budgetS, api_url: proxy.url };
        if (concurrency !== 4) overrides.concurrency = concurrency; // 4 is the default
        const result = await runVirtual(
          ["read", "--config", simConfigFile(sim, overrides), "--catalog", catalogFile(["pipelines"])],
          clock,
        );
        assertValidMessages(result.messages);
        assertNoSecrets(result.stdout + result.stderr, SECRETS);
        t.diagnostic(
          `${refused} refused requests; ${Math.round(result.waitedMs / 1000)} s waited, ${result.sleptMs / 1000} s of waits asked; ${JSON.stringify(errors(result.messages).map((e) => e.message))}`,
        );
        assert.ok(refused > 0, "the window was met");
        assertCompleted(result, ["pipelines"]);
        assertSameSet(uuidsOnce(result.messages, "pipelines"), runUuids(sim), "pipelines");
        assert.ok(result.waitedMs <= budgetS * 1000, `waited ${result.waitedMs} ms of ${budgetS} s`);
      } finally {
        await proxy.close();
      }
    });
  }
});
