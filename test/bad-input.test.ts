// Issue 4: bad config, catalog and state get a message naming what to fix and the protocol answer
// the platform expects (check: one CONNECTION_STATUS FAILED "invalid_config: …", exit 0; read and
// discover: one TRACE ERROR config_error, exit 1), never a bare stack trace; and the inputs a
// platform legitimately sends are accepted. `read` runs are the built CLI; check and discover of
// the config table run in-process (no start-up cost, no output redaction). All are scanned for secrets.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { assertCompleted, assertSameSet, repoUuids, runUuids, STACK_FRAME } from "./helpers/expect.js";
import { catalogFile, writeJson } from "./helpers/files.js";
import { runInProcess } from "./helpers/in-process.js";
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
import { type RunResult, runConnector } from "./helpers/run.js";
import { BASIC, BEARER, SECRETS, simConfigFile } from "./helpers/sim-config.js";
import { type Simulator, startSimulator } from "./simulator/index.js";

const WRONG_TOKEN = "wrong-token-Zq81xK7";
const WRONG_API_TOKEN = "wrong-api-token-Hf3pL0";
const URL_PASSWORD = "pw-S3cr3t-in-url";
const ALL_SECRETS = [
  ...SECRETS,
  WRONG_TOKEN,
  WRONG_API_TOKEN,
  Buffer.from(`${BASIC.email}:${WRONG_API_TOKEN}`).toString("base64"),
  URL_PASSWORD,
];
const STREAMS = ["repositories", "pipelines"];
/** Several CLI processes at once: each is mostly start-up time. */
const PARALLEL = { concurrency: 4 };

async function cli(args: string[], inProcess = false): Promise<RunResult> {
  // In-process runs skip process start-up (and main.ts's output redaction: a stricter secret scan).
  const result = inProcess ? await runInProcess(args) : await runConnector(args, { timeoutMs: 30_000 });
  assertValidMessages(result.messages);
  assertNoSecrets(result.stdout + result.stderr, ALL_SECRETS);
  assert.doesNotMatch(result.stderr, STACK_FRAME, `a stack trace on stderr:\n${result.stderr}`);
  return result;
}

/** read / discover: exactly one TRACE ERROR config_error naming the problem, exit 1, no data. */
function assertConfigError(result: RunResult, expected: RegExp): void {
  const errs = errors(result.messages);
  assert.equal(errs.length, 1, `one TRACE ERROR, got ${JSON.stringify(result.messages).slice(0, 400)} / stderr ${result.stderr}`);
  assert.equal(errs[0]!.failure_type, "config_error");
  assert.match(errs[0]!.message, expected);
  assert.equal(result.code, 1);
  assert.deepEqual(ofType(result.messages, "RECORD"), []);
  assert.deepEqual(ofType(result.messages, "STATE"), []);
  // stderr says the same in words, not as a stack.
  assert.match(result.stderr, expected);
}

/** check: exactly one CONNECTION_STATUS FAILED "invalid_config: …", exit 0. */
function assertCheckInvalid(result: RunResult, expected: RegExp): void {
  assert.equal(result.code, 0, result.stderr);
  assert.equal(result.messages.length, 1, JSON.stringify(result.messages));
  const status = result.messages[0]!.connectionStatus as { status: string; message?: string };
  assert.equal(status.status, "FAILED");
  assert.match(status.message ?? "", /^invalid_config: /);
  assert.match(status.message ?? "", expected);
}

// A config that would be valid; a port where nothing listens and no retry budget, so a config
// wrongly accepted fails fast (and with another failure type) instead of hanging.
const VALID = { workspace: "acme", credentials: BEARER, api_url: "http://127.0.0.1:9/2.0", max_retry_wait_seconds: 0 };
const config = (overrides: Record<string, unknown>): string => writeJson({ ...VALID, ...overrides }, "config");

const CONFIG_CASES: Array<[string, () => string, RegExp]> = [
  [
    "malformed JSON (with a token in it)",
    () =>
      writeJson(
        '{\n  "workspace": "acme",\n  "credentials": {"auth_type": "bearer", "token": "sim-token"},\n  "page_size": 10,\n}',
        "config",
      ),
    /config file .*config-\d+\.json is not valid JSON \(syntax error at line 5, column 1\)/,
  ],
  ["an empty file", () => writeJson("", "config"), /config file .* is not valid JSON \(it is empty\)/],
  [
    "a missing file",
    () => "/nonexistent/bbp-config.json",
    /config file \/nonexistent\/bbp-config\.json cannot be read \(ENOENT\)/,
  ],
  ["a JSON array", () => writeJson([VALID], "config"), /config must be a JSON object/],
  ["no workspace", () => config({ workspace: undefined }), /Invalid config: .*workspace is required/],
  [
    "an empty workspace",
    () => config({ workspace: "" }),
    /Invalid config: .*workspace (must not be empty|has an invalid format)/,
  ],
  ["no credentials", () => config({ credentials: undefined }), /Invalid config: .*credentials is required/],
  [
    "an empty token",
    () => config({ credentials: { auth_type: "bearer", token: "" } }),
    /Invalid config: .*credentials\.token must not be empty/,
  ],
  ["page_size as a string", () => config({ page_size: "100" }), /Invalid config: .*page_size must be integer/],
  ["repositories as a string", () => config({ repositories: "x" }), /Invalid config: .*repositories must be array/],
  [
    "an unknown auth_type",
    () => config({ credentials: { auth_type: "oauth2", token: "sim-token" } }),
    /credentials\.auth_type must be "bearer" \(access token\) or "basic" .*not "oauth2"/,
  ],
  [
    "http to a non-loopback host",
    () => config({ api_url: "http://bitbucket.example.com/2.0" }),
    /api_url must use https: plain http is allowed only for a loopback host .*not bitbucket\.example\.com/,
  ],
  [
    "an api_url with user info",
    () => config({ api_url: `http://user:${URL_PASSWORD}@127.0.0.1/2.0` }),
    /api_url must not contain a user name or password/,
  ],
  [
    "a start_date that is not a date",
    () => config({ start_date: "last tuesday" }),
    /start_date must be an ISO 8601 date-time such as 2025-01-01T00:00:00Z/,
  ],
  [
    "a start_date in the future",
    () => config({ start_date: "2999-01-01T00:00:00Z" }),
    /start_date \(2999-01-01T00:00:00Z\) lies in the future/,
  ],
  ["page_size 0", () => config({ page_size: 0 }), /Invalid config: .*page_size must be >= 1/],
  ["page_size 101", () => config({ page_size: 101 }), /Invalid config: .*page_size must be <= 100/],
];

describe("bad config: check, discover and read each say what to fix", PARALLEL, () => {
  for (const [what, file, expected] of CONFIG_CASES) {
    test(`check (in-process) with ${what}: CONNECTION_STATUS FAILED invalid_config, exit 0`, async () => {
      assertCheckInvalid(await cli(["check", "--config", file()], true), expected);
    });
    test(`discover (in-process) with ${what}: TRACE ERROR config_error, exit 1`, async () => {
      assertConfigError(await cli(["discover", "--config", file()], true), expected);
    });
    test(`read with ${what}: TRACE ERROR config_error, exit 1`, async () => {
      assertConfigError(await cli(["read", "--config", file(), "--catalog", catalogFile()]), expected);
    });
  }
});

const catalogOf = (streams: unknown[]): string => writeJson({ streams }, "catalog");
const entry = (name: string, sync_mode: string) => ({
  stream: { name, json_schema: {}, supported_sync_modes: ["full_refresh", "incremental"] },
  sync_mode,
  destination_sync_mode: "append_dedup",
});

const CATALOG_CASES: Array<[string, () => string, RegExp]> = [
  [
    "an unknown stream",
    () => catalogOf([entry("pipelines", "incremental"), entry("issues", "incremental")]),
    /unknown stream "issues"\. This source offers: repositories, pipelines/,
  ],
  [
    "an unsupported sync mode",
    () => catalogOf([entry("pipelines", "INVALID")]),
    /stream "pipelines" has sync_mode "INVALID".*full_refresh or incremental/,
  ],
  [
    "a cursor field the stream does not have",
    () => catalogOf([{ ...entry("pipelines", "incremental"), cursor_field: ["completed_on"] }]),
    /stream "pipelines" has cursor_field \["completed_on"\]; its cursor is defined by the source: \["created_on"\]/,
  ],
  [
    "a stream listed twice",
    () => catalogOf([entry("pipelines", "incremental"), entry("pipelines", "full_refresh")]),
    /lists stream "pipelines" twice/,
  ],
  [
    "a missing file",
    () => "/nonexistent/bbp-catalog.json",
    /catalog file \/nonexistent\/bbp-catalog\.json cannot be read \(ENOENT\)/,
  ],
  [
    "a file that is not JSON",
    () => writeJson("streams: [pipelines]", "catalog"),
    /catalog file .*catalog-\d+\.json is not valid JSON/,
  ],
  ["an object without streams", () => writeJson({}, "catalog"), /ConfiguredAirbyteCatalog: an object with a "streams" list/],
];

describe("bad catalog: read says what to fix", PARALLEL, () => {
  for (const [what, file, expected] of CATALOG_CASES) {
    test(`read with ${what}: TRACE ERROR config_error, exit 1`, async () => {
      assertConfigError(await cli(["read", "--config", config({}), "--catalog", file()]), expected);
    });
  }
});

const streamState = (name: string, stream_state: unknown) => ({
  type: "STREAM",
  stream: { stream_descriptor: { name }, stream_state },
});

const STATE_CASES: Array<[string, () => string, RegExp]> = [
  ["garbage text", () => writeJson("garbage, not a state", "state"), /state file .*state-\d+\.json is not valid JSON/],
  ["a number", () => writeJson(42, "state"), /state file must hold a list of per-stream STATE messages, not 42/],
  ["a string", () => writeJson('"x"', "state"), /state file must hold a list of per-stream STATE messages, not "x"/],
  [
    "the legacy single-object form",
    () => writeJson({ pipelines: { created_on: "2025-01-01T00:00:00Z" } }, "state"),
    /legacy state form.*list of per-stream states/,
  ],
  [
    "a pipelines cursor that is not a timestamp",
    () => writeJson([streamState("pipelines", { created_on: "yesterday" })], "state"),
    /state of stream pipelines has created_on = "yesterday", which is not an ISO 8601 timestamp/,
  ],
  [
    "a repositories cursor of the wrong type",
    () => writeJson([streamState("repositories", { updated_on: 1_700_000_000 })], "state"),
    /state of stream repositories has updated_on = 1700000000, which is not an ISO 8601 timestamp/,
  ],
  [
    "a stream_state that is not an object",
    () => writeJson([streamState("pipelines", "x")], "state"),
    /state of stream pipelines must be a JSON object/,
  ],
  // A mistyped path must not silently turn into a full re-read.
  [
    "a state path that does not exist",
    () => "/nonexistent/bbp-state.json",
    /state file \/nonexistent\/bbp-state\.json cannot be read \(ENOENT\)/,
  ],
  [
    "a GLOBAL state",
    () =>
      writeJson(
        [
          {
            type: "GLOBAL",
            global: { shared_state: {}, stream_states: [{ stream_descriptor: { name: "pipelines" }, stream_state: {} }] },
          },
        ],
        "state",
      ),
    /State entry #1 has type "GLOBAL"; this source reads only per-stream \(STREAM\) state/,
  ],
];

describe("bad state: read says what to fix", PARALLEL, () => {
  for (const [what, file, expected] of STATE_CASES) {
    test(`read with ${what}: TRACE ERROR config_error, exit 1`, async () => {
      assertConfigError(await cli(["read", "--config", config({}), "--catalog", catalogFile(), "--state", file()]), expected);
    });
  }
});

describe("inputs a platform legitimately sends are accepted", PARALLEL, () => {
  let sim: Simulator;
  let simConfig: string;
  /** The STATE messages of a complete read, as the platform would store them. */
  let saved: Message[];
  before(async () => {
    sim = await startSimulator({ seed: 12, repositories: 3, runsPerRepository: 15 });
    simConfig = simConfigFile(sim, { page_size: 10 });
    const first = await cli(["read", "--config", simConfig, "--catalog", catalogFile()]);
    assertCompleted(first, STREAMS);
    saved = stateFileFrom(first.messages);
    assert.equal(saved.length, 2);
  });
  after(() => sim.close());

  const readWith = (state: string | undefined, catalog = catalogFile()) =>
    cli(["read", "--config", simConfig, "--catalog", catalog, ...(state === undefined ? [] : ["--state", state])]);

  /** A fresh read: every record. */
  function assertFresh(result: RunResult): void {
    assertCompleted(result, STREAMS);
    assertSameSet(new Set(records(result.messages, "repositories").map((r) => r.uuid)), repoUuids(sim), "repositories");
    assertSameSet(new Set(records(result.messages, "pipelines").map((r) => r.uuid)), runUuids(sim), "pipelines");
  }

  const FRESH: Array<[string, () => string | undefined]> = [
    ["no --state", () => undefined],
    ["a state file holding []", () => writeJson([], "state")],
    ["a state file holding {}", () => writeJson({}, "state")],
    ["an empty state file", () => writeJson("", "state")],
    ["a state file of blank lines", () => writeJson("\n  \n", "state")],
    [
      "stream_state null for every stream",
      () => writeJson([streamState("pipelines", null), streamState("repositories", null)], "state"),
    ],
  ];
  for (const [what, state] of FRESH) {
    test(`${what}: a fresh read, COMPLETE, exit 0`, async () => {
      assertFresh(await readWith(state()));
    });
  }

  test("state for a stream not in the catalog is ignored with a LOG line", async () => {
    const state = writeJson([...saved, streamState("issues", { updated_on: "2025-01-01T00:00:00Z" })], "state");
    const result = await readWith(state, catalogFile(["pipelines"]));
    assertCompleted(result, ["pipelines"]);
    const logs = ofType(result.messages, "LOG").map((m) => m.log.message as string);
    assert.ok(
      logs.some((l) => /Ignored the input state of stream "issues"/.test(l)),
      logs.join("\n"),
    );
    assert.ok(
      logs.some((l) => /Ignored the input state of stream "repositories"/.test(l)),
      logs.join("\n"),
    );
    // The pipelines state was used: nothing changed, nothing emitted.
    assert.deepEqual(records(result.messages, "pipelines"), []);
  });

  test("extra keys (id, sourceStats, destinationStats, a namespace) are accepted and the state is used", async () => {
    const decorated = saved.map((s, i) => ({
      ...s,
      id: 1000 + i,
      sourceStats: { recordCount: 17 },
      destinationStats: { recordCount: 17 },
      stream: { ...s.stream, stream_descriptor: { ...s.stream.stream_descriptor, namespace: "acme" } },
    }));
    const result = await readWith(writeJson(decorated, "state"));
    assertCompleted(result, STREAMS);
    assert.deepEqual(records(result.messages), [], "the saved state was applied: nothing new");
  });

  test("cursors far in the future: zero records, and STATE cursors in the input's own format", async () => {
    const future = "2999-12-31T23:59:59Z";
    const state = writeJson(
      [streamState("pipelines", { created_on: future }), streamState("repositories", { updated_on: future })],
      "state",
    );
    const result = await readWith(state);
    assertCompleted(result, STREAMS);
    assert.deepEqual(records(result.messages), []);
    const last = (stream: string) => states(result.messages, stream).at(-1)?.state.stream.stream_state;
    assert.equal(last("repositories")?.updated_on, future);
    assert.equal(last("pipelines")?.created_on, future);
    for (const [uuid, entry] of Object.entries(
      (last("pipelines")?.repositories ?? {}) as Record<string, { created_on?: string }>,
    )) {
      assert.equal(entry.created_on, future, `repository ${uuid}`);
    }
    // A host looks for the cursor by name anywhere in the state (Airbyte's acceptance tests do):
    // every value under that name keeps the input's format.
    const valuesNamed = (value: unknown, key: string): unknown[] =>
      typeof value !== "object" || value === null
        ? []
        : Object.entries(value).flatMap(([k, v]) => [...(k === key ? [v] : []), ...valuesNamed(v, key)]);
    for (const state of states(result.messages, "pipelines")) {
      assert.deepEqual(new Set(valuesNamed(state.state.stream.stream_state, "created_on")), new Set([future]));
    }
  });
});

describe("rejected credentials are not echoed", PARALLEL, () => {
  let sim: Simulator;
  before(async () => {
    sim = await startSimulator({ seed: 3, repositories: 2, runsPerRepository: 3 });
  });
  after(() => sim.close());

  const WRONG: Array<[string, Record<string, unknown>, RegExp]> = [
    ["a wrong access token", { auth_type: "bearer", token: WRONG_TOKEN }, /401/],
    ["a wrong API token", { ...BASIC, api_token: WRONG_API_TOKEN }, /401.*Atlassian account email/],
  ];
  for (const [what, credentials, expected] of WRONG) {
    test(`check with ${what}: invalid_credentials, the token nowhere in the output`, async () => {
      const result = await cli(["check", "--config", simConfigFile(sim, { credentials })]);
      assert.equal(result.code, 0);
      const status = result.messages[0]!.connectionStatus as { status: string; message: string };
      assert.equal(status.status, "FAILED");
      assert.match(status.message, /^invalid_credentials: /);
      assert.match(status.message, expected);
    });
    test(`read with ${what}: config_error TRACE per stream, exit 1, the token nowhere in the output`, async () => {
      const result = await cli(["read", "--config", simConfigFile(sim, { credentials }), "--catalog", catalogFile()]);
      assert.equal(result.code, 1);
      for (const stream of STREAMS) assert.equal(statuses(result.messages, stream).at(-1), "INCOMPLETE", stream);
      const errs = errors(result.messages);
      assert.ok(errs.length >= 1);
      for (const e of errs) {
        assert.equal(e.failure_type, "config_error");
        assert.match(e.message, /rejected the credentials/);
      }
    });
    test(`read in-process (no output redaction) with ${what}: the connector's own messages never hold the token`, async () => {
      const result = await runInProcess(["read", "--config", simConfigFile(sim, { credentials }), "--catalog", catalogFile()]);
      assertValidMessages(result.messages);
      assertNoSecrets(result.stdout + result.stderr, ALL_SECRETS);
      assert.equal(result.code, 1);
      assert.ok(errors(result.messages).every((e) => e.failure_type === "config_error"));
    });
  }
});
