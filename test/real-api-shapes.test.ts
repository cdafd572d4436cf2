// Replay of responses in the shapes the real API sends (test/fixtures/real-api): every record
// fits its stream's schema and carries its input object whole (nothing dropped or renamed), and an
// incremental read from the first read's state loses and repeats no run across odd timestamps.
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { Ajv } from "ajv";
import addFormatsModule from "ajv-formats";
import { assertCompleted } from "./helpers/expect.js";
import { writeJson } from "./helpers/files.js";
import { expectedEnvironmentFields, expectedRunFields, expectedStatus } from "./helpers/flat-fields.js";
import { assertNoSecrets, assertValidMessages, type Message, records, stateFileFrom, states } from "./helpers/protocol.js";
import {
  FIXTURES,
  instant,
  listingPages,
  listingValues,
  type ReplayServer,
  readFixture,
  startReplay,
} from "./helpers/replay-server.js";
import { runConnector } from "./helpers/run.js";

const STREAMS = ["repositories", "pipelines", "pipeline_steps", "environments", "deployments"];
const SLUGS = ["web-app", "payments-api", "mobile-app", "docs-site"];
const COMMANDS = ["setup_commands", "script_commands", "teardown_commands"];
const TOKEN = "replay-token-5f2a";
const FIRST = ["first-read"];
const SECOND = ["second-read", "first-read"];

const addFormats = addFormatsModule as unknown as (ajv: Ajv) => Ajv;
const ajv = new Ajv({ allErrors: true, strict: false });
addFormats(ajv);
const schemas = Object.fromEntries(STREAMS.map((s) => [s, JSON.parse(readFileSync(`schemas/${s}.json`, "utf8"))]));
const validators = Object.fromEntries(STREAMS.map((s) => [s, ajv.compile(schemas[s])]));

function catalog(streams = STREAMS): string {
  return writeJson(
    {
      streams: streams.map((name) => ({
        stream: { name, json_schema: {}, supported_sync_modes: ["full_refresh", "incremental"] },
        sync_mode: name === "environments" ? "full_refresh" : "incremental",
        destination_sync_mode: "append_dedup",
      })),
    },
    "catalog",
  );
}

async function read(replay: ReplayServer, options: { streams?: string[]; state?: unknown; config?: object } = {}) {
  const config = writeJson(
    {
      workspace: "northwind",
      credentials: { auth_type: "bearer", token: TOKEN },
      api_url: replay.url,
      page_size: 3,
      ...options.config,
    },
    "config",
  );
  const streams = options.streams ?? STREAMS;
  const args = ["read", "--config", config, "--catalog", catalog(streams)];
  if (options.state !== undefined) args.push("--state", writeJson(options.state, "state"));
  replay.requests.length = 0;
  const result = await runConnector(args);
  assertValidMessages(result.messages);
  assertNoSecrets(result.stdout + result.stderr, [TOKEN]);
  assertCompleted(result, streams);
  for (const stream of streams) assert.ok(states(result.messages, stream).length > 0, `a STATE for ${stream}`);
  for (const m of result.messages.filter((m) => m.type === "RECORD")) {
    const { stream, data } = m.record as { stream: string; data: Message };
    const validate = validators[stream]!;
    const valid = validate(data);
    assert.ok(valid, `${stream} record ${data.uuid ?? data.id}: ${ajv.errorsText(validate.errors)}`);
    assert.deepEqual(
      undeclared(data, schemas[stream]),
      [],
      `${stream} record ${data.uuid ?? data.id}: fields its schema does not declare`,
    );
  }
  assert.deepEqual(replay.unmatched, [], "every request is one the fixtures answer");
  return result;
}

/**
 * Paths of the value that the schema does not name where it names properties: a destination
 * that types columns from the schema would drop them without a word.
 */
function undeclared(value: unknown, schema: any, path = ""): string[] {
  if (Array.isArray(value)) return schema?.items ? value.flatMap((v, i) => undeclared(v, schema.items, `${path}[${i}]`)) : [];
  if (!value || typeof value !== "object" || !schema?.properties) return [];
  return Object.entries(value).flatMap(([key, child]) =>
    key in schema.properties ? undeclared(child, schema.properties[key], `${path}.${key}`) : [`${path}.${key}`],
  );
}

/** Records of a stream by key, asserting none comes twice. */
function byKey(messages: Message[], stream: string, key = "uuid"): Map<string, Message> {
  const map = new Map<string, Message>();
  for (const r of records(messages, stream)) {
    assert.ok(!map.has(r[key]), `${stream}: ${r[key]} emitted twice`);
    map.set(r[key], r);
  }
  return map;
}

/** What the fixtures hold, as the server serves it for one fixture set. */
function inputs(replay: ReplayServer, roots: string[]) {
  const d = replay.days;
  const repos: Message[] = readFixture(roots, "repositories/northwind.json", d);
  const bySlug = new Map(repos.map((r) => [r.slug, r]));
  const at = (slug: string, suffix: string) => `repositories/northwind/${slug}/${suffix}`;
  const runs = SLUGS.flatMap((slug) => listingValues(roots, at(slug, "pipelines"), d).map((run) => ({ slug, run })));
  return {
    repos,
    runs,
    steps: (slug: string, run: Message) => listingValues(roots, at(slug, `pipelines/${run.uuid}/steps`), d),
    environments: (slug: string) => listingValues(roots, at(slug, "environments"), d),
    deployments: (slug: string) => listingValues(roots, at(slug, "deployments"), d),
    repo: (slug: string) => bySlug.get(slug)!,
    single: (slug: string, uuid: string) => readFixture(roots, at(slug, `pipelines/${uuid}.json`), d),
  };
}

const ofRepo = (repo: Message) => ({ repository_uuid: repo.uuid, repository_full_name: repo.full_name });
const withoutCommands = (step: Message) => Object.fromEntries(Object.entries(step).filter(([k]) => !COMMANDS.includes(k)));

/** The step records a run's steps listing makes: the API's object whole, plus the join fields. */
function expectedSteps(input: ReturnType<typeof inputs>, slug: string, run: Message, withCommands = false): Map<string, Message> {
  return new Map(
    input.steps(slug, run).map((step) => [
      step.uuid,
      {
        ...(withCommands ? step : withoutCommands(step)),
        ...expectedStatus(step.state),
        pipeline_uuid: run.uuid,
        pipeline_created_on: run.created_on,
        ...ofRepo(input.repo(slug)),
      },
    ]),
  );
}

/** The fields a deployment record takes from the listing row, its environment and its run. */
function expectedDeployment(input: ReturnType<typeof inputs>, slug: string, row: Message, run: Message): Message {
  const environment = input.environments(slug).find((e) => e.uuid === row.environment.uuid);
  const release = row.release ?? row.deployable;
  return {
    id: row.uuid,
    source: "bitbucket_deployments",
    ...ofRepo(input.repo(slug)),
    environment: environment.name,
    environment_type: environment.environment_type.name.toLowerCase(),
    environment_uuid: row.environment.uuid,
    commit_hash: release.commit.hash,
    ref_name: run.target.ref_name ?? null,
    pipeline_uuid: run.uuid,
    build_number: run.build_number ?? Number(release.name.slice(1)),
    step_uuid: row.step.uuid,
    pipeline_created_on: run.created_on,
    status: row.state.status?.name ?? row.state.name,
    started_on: row.state.started_on ?? null,
    completed_on: row.state.completed_on ?? null,
  };
}

function assertDeployments(
  messages: Message[],
  input: ReturnType<typeof inputs>,
  runsOf: (slug: string) => Message[],
  what: string,
): void {
  const actual = byKey(messages, "deployments", "id");
  const expected = new Map<string, Message>();
  for (const slug of SLUGS) {
    const runs = new Map(runsOf(slug).map((r) => [r.uuid, r]));
    for (const row of input.deployments(slug)) {
      const run = runs.get(row.release.pipeline.uuid);
      if (run && row.state.name !== "UNDEPLOYED") expected.set(row.uuid, expectedDeployment(input, slug, row, run));
    }
  }
  assert.deepEqual([...actual.keys()].sort(), [...expected.keys()].sort(), `${what}: the deployments`);
  for (const [id, want] of expected) {
    const got = actual.get(id)!;
    for (const [key, value] of Object.entries(want)) assert.deepEqual(got[key], value, `deployment ${id}: ${key}`);
  }
}

describe("responses in the shapes the real API sends", () => {
  let replay: ReplayServer;
  let first: Awaited<ReturnType<typeof read>>;
  let firstRequests: string[];
  before(async () => {
    replay = await startReplay(FIRST);
    first = await read(replay);
    firstRequests = [...replay.requests];
  });
  after(() => replay.close());

  test("the fixtures hold the real-API shapes issue 12 lists", () => {
    const all = [...inputs(replay, FIRST).runs, ...inputs(replay, SECOND).runs];
    const runs = all.map((r) => r.run);
    const has = (what: string, found: boolean) => assert.ok(found, `the fixtures have ${what}`);
    has(
      "a run without creator",
      runs.some((r) => !("creator" in r)),
    );
    has(
      "a run without build_number",
      runs.some((r) => !("build_number" in r)),
    );
    has(
      "completed_on before created_on",
      runs.some((r) => r.completed_on && instant(r.completed_on)! < instant(r.created_on)!),
    );
    const text = readdirSync(FIXTURES, { recursive: true, encoding: "utf8" })
      .filter((f) => f.endsWith(".json"))
      .map((f) => readFileSync(join(FIXTURES, f), "utf8"))
      .join("\n");
    const stamps = [...text.matchAll(/"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.(\d+))?(Z|\+00:00)"/g)];
    const digits = new Set(stamps.map((m) => m[1]?.length ?? 0));
    for (const n of [0, 3, 5, 6, 9]) has(`timestamps with ${n} fraction digits`, digits.has(n));
    has(
      "+00:00 timestamps",
      stamps.some((m) => m[2] === "+00:00"),
    );
    const pullRequests = runs.filter((r) => r.target.selector?.type === "pull-requests");
    has(
      "a pull-request run without ref_name",
      pullRequests.some((r) => !("ref_name" in r.target)),
    );
    has(
      "a pull-request run with ref_name null",
      pullRequests.some((r) => r.target.ref_name === null),
    );
    has(
      "a merge-queue run",
      runs.some((r) => r.target.ref_name?.startsWith("bitbucket-merge-queue-")),
    );
    for (const stage of ["HALTED", "PAUSED"])
      has(
        `an IN_PROGRESS run ${stage}`,
        runs.some((r) => r.state.stage?.name === stage),
      );
    const input = inputs(replay, FIRST);
    const steps = all.flatMap(({ slug, run }) => input.steps(slug, run));
    has(
      "a manual step with result {}",
      steps.some((s) => s.trigger.type.endsWith("manual") && JSON.stringify(s.state.result) === "{}"),
    );
    const deployments = SLUGS.flatMap((slug) => input.deployments(slug));
    has(
      "a completed deployment without status",
      deployments.some((d) => d.state.name === "COMPLETED" && !d.state.status),
    );
    has(
      "UNDEPLOYED rows",
      deployments.some((d) => d.state.name === "UNDEPLOYED"),
    );
    const at = (slug: string, suffix: string) => listingPages(FIRST, `repositories/northwind/${slug}/${suffix}`, replay.days);
    has("an empty pipelines page with pagelen 0", at("docs-site", "pipelines")[0].pagelen === 0);
    const mobileRuns = input.runs.filter((r) => r.slug === "mobile-app").map((r) => r.run);
    has(
      "a steps page with pagelen 1 and 2 items",
      mobileRuns.some((r) => at("mobile-app", `pipelines/${r.uuid}/steps`).some((p) => p.pagelen === 1 && p.values.length === 2)),
    );
  });

  test("a first read emits every repository, run, step and environment whole, and fits the schemas", () => {
    const input = inputs(replay, FIRST);
    assert.deepEqual(byKey(first.messages, "repositories"), new Map(input.repos.map((r) => [r.uuid, r])));

    const runs = byKey(first.messages, "pipelines");
    assert.equal(runs.size, input.runs.length, "one pipelines record per run listed");
    for (const { slug, run } of input.runs) {
      assert.deepEqual(runs.get(run.uuid), { ...run, ...expectedRunFields(run), ...ofRepo(input.repo(slug)) });
    }

    // The flat fields on the real shapes: halted and paused runs, pull-request targets.
    const flat = [...runs.values()];
    assert.ok(flat.some((r) => r.status === "IN_PROGRESS" && r.result === "HALTED"));
    assert.ok(flat.some((r) => r.status === "IN_PROGRESS" && r.result === "PAUSED"));
    assert.ok(flat.some((r) => r.status === "COMPLETED" && r.result === "FAILED"));
    assert.ok(flat.some((r) => r.selector_type === "pull-requests" && r.ref_type === null && r.commit_hash !== null));
    assert.ok(flat.every((r) => r.trigger_type === null || /^[A-Z_]+$/.test(r.trigger_type)));

    const expected = new Map(input.runs.flatMap(({ slug, run }) => [...expectedSteps(input, slug, run)]));
    assert.deepEqual(byKey(first.messages, "pipeline_steps"), expected);
    assert.ok(
      [...expected.values()].some((s) => s.status === "PENDING" && s.result === null),
      "a manual step with result {}",
    );

    const environments = SLUGS.flatMap((slug) =>
      input.environments(slug).map((e) => [e.uuid, { ...e, ...expectedEnvironmentFields(e), ...ofRepo(input.repo(slug)) }]),
    );
    assert.deepEqual(byKey(first.messages, "environments"), new Map(environments as [string, Message][]));
  });

  test("deployments: every row but the UNDEPLOYED ones, with or without a status", () => {
    const input = inputs(replay, FIRST);
    const runsOf = (slug: string) => input.runs.filter((r) => r.slug === slug).map((r) => r.run);
    assertDeployments(first.messages, input, runsOf, "first read");
    const undeployed = SLUGS.flatMap((s) => input.deployments(s)).filter((d) => d.state.name === "UNDEPLOYED");
    assert.equal(undeployed.length, 3, "the fixtures have UNDEPLOYED rows, with and without a status");
    const statuses = records(first.messages, "deployments").map((d) => d.status);
    assert.ok(statuses.includes("COMPLETED"), "a completed deployment without a status keeps its state name");
  });

  test("the pipelines listing is asked newest first with the page size, for every repository", () => {
    const listings = firstRequests.filter((r) => /\/pipelines\/?(\?|$)/.test(r));
    for (const slug of SLUGS)
      assert.ok(
        listings.some((r) => r.includes(`/${slug}/pipelines`)),
        `${slug} listed`,
      );
    for (const r of listings) {
      const q = new URL(r, "http://x").searchParams;
      assert.equal(q.get("sort"), "-created_on", r);
      assert.equal(q.get("pagelen"), "3", r);
    }
    const pages = listings.filter((r) => r.includes("/web-app/")).map((r) => new URL(r, "http://x").searchParams.get("page"));
    assert.deepEqual(pages, ["1", "2", "3"], "web-app's three pages, none past the last");
  });

  test("an incremental read from the first read's state emits the new and changed runs once, none lost", async () => {
    replay.roots = SECOND;
    try {
      const state = stateFileFrom(first.messages);
      const pipelinesState = state.find((s) => s.stream.stream_descriptor.name === "pipelines")!.stream.stream_state;
      const before = inputs(replay, FIRST);
      for (const slug of SLUGS.filter((s) => s !== "docs-site")) {
        const newest = before.runs.filter((r) => r.slug === slug).map((r) => instant(r.run.created_on)!);
        const saved = pipelinesState.repositories[before.repo(slug).uuid].created_on;
        assert.equal(instant(saved), newest.sort().at(-1), `${slug}: the cursor is the newest run's created_on`);
      }

      const second = await read(replay, { state });
      const input = inputs(replay, SECOND);
      const web = input.repo("web-app");
      const firstUuids = new Set(before.runs.map((r) => r.run.uuid));
      const runOf = new Map(input.runs.map((r) => [r.run.uuid, r.run]));
      const added = input.runs.filter((r) => !firstUuids.has(r.run.uuid)).map((r) => r.run);
      assert.equal(added.length, 2);
      // One of them was created 204 µs after the first read's cursor, within the same millisecond.
      assert.ok(added.some((r) => r.created_on.slice(0, 23) === before.runs[0]!.run.created_on.slice(0, 23)));
      const changed = before.runs
        .filter((r) => JSON.stringify(r.run.state) !== JSON.stringify(runOf.get(r.run.uuid)?.state))
        .map((r) => runOf.get(r.run.uuid)!);
      assert.equal(changed.length, 2, "the PAUSED and the HALTED run finished");
      const expectedRuns = [...added, ...changed];

      const runs = byKey(second.messages, "pipelines");
      assert.deepEqual([...runs.keys()].sort(), expectedRuns.map((r) => r.uuid).sort(), "exactly the new and the changed runs");
      for (const run of expectedRuns) assert.deepEqual(runs.get(run.uuid), { ...run, ...expectedRunFields(run), ...ofRepo(web) });
      // The HALTED run is older than any walk reaches: it was asked for by uuid.
      const halted = before.runs.find((r) => r.run.state.stage?.name === "HALTED")!.run;
      assert.ok(
        replay.requests.some(
          (r) => r.includes(`/pipelines/${encodeURIComponent(halted.uuid)}?`) || r.endsWith(encodeURIComponent(halted.uuid)),
        ),
      );
      assert.deepEqual(input.single("web-app", halted.uuid), runOf.get(halted.uuid), "the run by uuid is the one listed");

      const steps = new Map(expectedRuns.flatMap((run) => [...expectedSteps(input, "web-app", run)]));
      assert.deepEqual(byKey(second.messages, "pipeline_steps"), steps);

      assertDeployments(second.messages, input, (slug) => (slug === "web-app" ? expectedRuns : []), "second read");
      assert.deepEqual([...byKey(second.messages, "repositories").keys()], [web.uuid], "only the repository updated since");
      assert.equal(byKey(second.messages, "environments").size, 8, "environments are read in full each time");

      // Nothing changed since: a third read emits no run, step, deployment or repository again.
      const third = await read(replay, { state: stateFileFrom([...first.messages, ...second.messages]) });
      for (const stream of ["repositories", "pipelines", "pipeline_steps", "deployments"]) {
        assert.deepEqual(records(third.messages, stream), [], `third read: no ${stream} record`);
      }
    } finally {
      replay.roots = FIRST;
    }
  });

  test("with include_step_commands the steps keep their build scripts as the API sent them", async () => {
    const result = await read(replay, { streams: ["pipeline_steps"], config: { include_step_commands: true } });
    const input = inputs(replay, FIRST);
    const expected = new Map(input.runs.flatMap(({ slug, run }) => [...expectedSteps(input, slug, run, true)]));
    assert.ok(
      [...expected.values()].some((s) => Array.isArray(s.setup_commands)),
      "the fixtures have commands",
    );
    assert.deepEqual(byKey(result.messages, "pipeline_steps"), expected);
    for (const r of replay.requests.filter((r) => r.includes("/steps"))) assert.doesNotMatch(r, /fields=/, r);
  });
});
