// Packaging and metadata stay in step (reference: ../shared/reference/airbyte-protocol.md §3.11
// and checks 55 to 58): metadata.yaml, package.json, the Dockerfile, acceptance-test-config.yml
// and the files under integration_tests/. YAML is read with a few regexes on known keys (no YAML
// dependency): the files are ours and flat enough for that.
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { describe, test } from "node:test";
import { backoffMs } from "../src/bitbucket/retry-policy.js";
import { parseConfig } from "../src/config.js";
import { STREAMS } from "../src/streams/index.js";
import { parseCatalog } from "../src/sync/catalog.js";
import { parseRunsState } from "../src/sync/run-state.js";
import { parseInputState } from "../src/sync/state.js";

const root = new URL("../", import.meta.url);
const read = (path: string): string => readFileSync(new URL(path, root), "utf8");
const readJson = (path: string): unknown => JSON.parse(read(path));
const exists = (path: string): boolean => existsSync(new URL(path, root));

const packageJson = readJson("package.json") as { version: string; license: string };
const metadata = read("metadata.yaml");
const dockerfile = read("Dockerfile");
const acceptance = read("acceptance-test-config.yml");

/** The one `key: value` line of a YAML text (any indentation), unquoted, without a comment. */
function yamlScalar(text: string, key: string): string {
  const matches = [...text.matchAll(new RegExp(`^\\s*${key}:[ \\t]*(.*?)[ \\t]*(?:#.*)?$`, "gm"))].map((m) => m[1]!);
  assert.equal(matches.length, 1, `exactly one "${key}:" line (found ${matches.length})`);
  return matches[0]!.replace(/^"(.*)"$/, "$1").replace(/^'(.*)'$/, "$1");
}

/** The items of the block list under `key:` ("- item" lines indented deeper than the key). */
function yamlList(text: string, key: string): string[] {
  const lines = text.split("\n");
  const at = lines.findIndex((l) => new RegExp(`^\\s*${key}:\\s*$`).test(l));
  assert.notEqual(at, -1, `a "${key}:" block`);
  const indent = /^\s*/.exec(lines[at]!)![0].length;
  const items: string[] = [];
  for (const line of lines.slice(at + 1)) {
    if (line.trim() === "" || line.trim().startsWith("#")) continue;
    const m = /^(\s*)- (.*)$/.exec(line);
    if (!m || m[1]!.length <= indent) break;
    items.push(m[2]!.trim().replace(/^"(.*)"$/, "$1"));
  }
  return items;
}

/** Lines of the Dockerfile's final stage (after its last FROM), continuation lines joined. */
function finalStage(): string[] {
  const lines = dockerfile
    .replace(/\\\n\s*/g, " ")
    .split("\n")
    .filter((l) => !/^\s*#/.test(l));
  const from = lines.map((l) => /^FROM\s/i.test(l)).lastIndexOf(true);
  assert.notEqual(from, -1, "the Dockerfile has a FROM");
  return lines.slice(from);
}

function dockerLabel(name: string): string {
  const match = new RegExp(`${name.replaceAll(".", "\\.")}=("([^"]*)"|(\\S+))`).exec(finalStage().join("\n"));
  assert.ok(match, `the Dockerfile's final stage sets the label ${name}`);
  return match[2] ?? match[3]!;
}

describe("metadata.yaml", () => {
  test("dockerImageTag = package.json version = the Dockerfile's io.airbyte.version label", () => {
    const tag = yamlScalar(metadata, "dockerImageTag");
    assert.equal(tag, packageJson.version, "metadata dockerImageTag vs package.json version");
    assert.equal(dockerLabel("io.airbyte.version"), tag, "Dockerfile io.airbyte.version vs metadata dockerImageTag");
  });

  test("dockerRepository = the Dockerfile's io.airbyte.name label", () => {
    assert.equal(dockerLabel("io.airbyte.name"), yamlScalar(metadata, "dockerRepository"));
  });

  test("has the required ConnectorMetadataDefinitionV0 fields with valid values", () => {
    assert.match(metadata, /^metadataSpecVersion: "1\.0"$/m);
    assert.match(metadata, /^data:$/m);
    for (const key of [
      "name",
      "definitionId",
      "connectorType",
      "dockerRepository",
      "dockerImageTag",
      "license",
      "documentationUrl",
      "githubIssueLabel",
      "connectorSubtype",
      "releaseStage",
    ]) {
      assert.ok(yamlScalar(metadata, key).length > 0, `data.${key} is set`);
    }
    assert.match(
      yamlScalar(metadata, "definitionId"),
      /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/,
      "a UUID v4",
    );
    assert.equal(yamlScalar(metadata, "connectorType"), "source");
    assert.equal(yamlScalar(metadata, "connectorSubtype"), "api");
    assert.equal(yamlScalar(metadata, "license"), packageJson.license);
    assert.match(yamlScalar(metadata, "documentationUrl"), /^https:\/\/\S+$/);
    assert.ok(["alpha", "beta", "generally_available", "custom"].includes(yamlScalar(metadata, "releaseStage")));
    assert.ok(["community", "certified", "archived"].includes(yamlScalar(metadata, "supportLevel")));
    assert.deepEqual(yamlList(metadata, "tags"), ["language:typescript"]);
  });

  test("allowedHosts covers the default api_url; suggestedStreams are offered streams", () => {
    const defaultApiUrl = parseConfig(
      { workspace: "acme", credentials: { auth_type: "bearer", token: "t0ken" } },
      new Date(),
    ).apiUrl;
    assert.deepEqual(yamlList(metadata, "hosts"), [new URL(defaultApiUrl).hostname]);
    const suggested = yamlList(metadata, "streams");
    assert.ok(suggested.length > 0);
    for (const name of suggested)
      assert.ok(
        STREAMS.some((s) => s.name === name),
        `suggested stream ${name} exists`,
      );
  });

  test("maxSecondsBetweenMessages outlasts the longest single retry wait (a Retry-After, capped)", () => {
    const max = Number(yamlScalar(metadata, "maxSecondsBetweenMessages"));
    assert.ok(Number.isInteger(max) && max > 0);
    const longestWaitS = backoffMs("rate_limited", 1, Number.MAX_SAFE_INTEGER) / 1000;
    const longestTableWaitS = backoffMs("rate_limited", 100) / 1000;
    assert.ok(max > longestWaitS && max > longestTableWaitS, `${max} s vs waits of ${longestWaitS} s / ${longestTableWaitS} s`);
  });
});

describe("Dockerfile", () => {
  test("AIRBYTE_ENTRYPOINT equals the ENTRYPOINT joined by spaces", () => {
    const stage = finalStage().join("\n");
    const env = /^ENV\s+AIRBYTE_ENTRYPOINT=(?:"([^"]*)"|(\S+))/m.exec(stage);
    assert.ok(env, "ENV AIRBYTE_ENTRYPOINT in the final stage");
    const entrypoint = /^ENTRYPOINT\s+(\[.*\])\s*$/m.exec(stage);
    assert.ok(entrypoint, "an exec-form ENTRYPOINT [...] in the final stage");
    const argv = JSON.parse(entrypoint[1]!) as string[];
    assert.equal(env[1] ?? env[2], argv.join(" "));
  });

  test("the final stage runs as a user that is not root", () => {
    const users = finalStage().flatMap((l) => /^USER\s+(\S+)/i.exec(l)?.[1] ?? []);
    assert.ok(users.length > 0, "a USER instruction in the final stage");
    const user = users.at(-1)!.split(":")[0]!;
    assert.ok(!["root", "0"].includes(user), `USER ${user}`);
  });
});

describe("acceptance-test-config.yml", () => {
  test("uses the current layout: acceptance_tests at the root, each section with tests xor bypass_reason", () => {
    assert.match(acceptance, /^acceptance_tests:\s*$/m);
    assert.doesNotMatch(acceptance, /^tests:/m, "no legacy root-level tests:");
    assert.equal(yamlScalar(acceptance, "connector_image"), `${yamlScalar(metadata, "dockerRepository")}:dev`);
    assert.match(yamlScalar(acceptance, "test_strictness_level"), /^(low|high)$/);
    const lines = acceptance.split("\n");
    const start = lines.findIndex((l) => /^acceptance_tests:/.test(l));
    const sections = new Map<string, string[]>();
    let current: string[] | undefined;
    for (const line of lines.slice(start + 1)) {
      if (/^\S/.test(line) && !line.startsWith("#")) break;
      const section = /^ {2}(\w+):\s*$/.exec(line);
      if (section) sections.set(section[1]!, (current = []));
      else current?.push(line);
    }
    assert.deepEqual([...sections.keys()], ["spec", "connection", "discovery", "basic_read", "full_refresh", "incremental"]);
    for (const [name, body] of sections) {
      const tests = body.some((l) => /^ {4}tests:/.test(l));
      const bypass = body.some((l) => /^ {4}bypass_reason:/.test(l));
      assert.ok(tests !== bypass, `section ${name} has tests or bypass_reason, not both`);
    }
  });

  test("every file it names outside secrets/ exists", () => {
    const paths = [
      ...acceptance.matchAll(/^\s*-?\s*(?:spec_path|config_path|configured_catalog_path|future_state_path|path):\s*(\S+)/gm),
    ].map((m) => m[1]!);
    assert.ok(paths.includes("integration_tests/abnormal_state.json"));
    for (const path of paths.filter((p) => !p.startsWith("secrets/"))) assert.ok(exists(path), `${path} exists`);
  });
});

describe("integration_tests/", () => {
  test("abnormal_state.json: STREAM states of every incremental stream, far-future cursors in the connector's format", () => {
    const raw = readJson("integration_tests/abnormal_state.json");
    assert.ok(Array.isArray(raw), "a list of STREAM states, not a legacy object");
    const parsed = parseInputState(raw);
    const names = raw.map((entry: { type?: string; stream?: { stream_descriptor?: { name?: string } } }) => {
      assert.equal(entry.type, "STREAM");
      return entry.stream?.stream_descriptor?.name;
    });
    assert.deepEqual(
      [...names].sort(),
      STREAMS.filter((s) => s.cursorField)
        .map((s) => s.name)
        .sort(),
      "exactly the discovered incremental streams",
    );
    for (const stream of STREAMS.filter((s) => s.cursorField)) {
      const state = parsed.streams.get(stream.name) as Record<string, unknown>;
      assert.deepEqual(Object.keys(state), [stream.cursorField], `${stream.name}: the cursor, under its own key`);
      // What the connector writes (timestamps.ts): UTC, nine fraction digits, Z.
      assert.match(String(state[stream.cursorField!]), /^2999-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{9}Z$/, stream.name);
      const parse = () =>
        stream.kind === "workspace" ? stream.parseState(state) : parseRunsState(state, stream.name, stream.cursorField!);
      assert.doesNotThrow(parse, `${stream.name} accepts its abnormal state`);
    }
  });

  test("configured_catalog.json: every stream, in a sync mode it supports, with its cursor and key", () => {
    const catalog = readJson("integration_tests/configured_catalog.json") as {
      streams: { stream: { name: string }; sync_mode: string; cursor_field?: string[]; primary_key?: string[][] }[];
    };
    const configured = parseCatalog(catalog);
    assert.deepEqual(
      configured.map((c) => c.stream.name),
      STREAMS.map((s) => s.name),
    );
    for (const [i, entry] of catalog.streams.entries()) {
      const stream = configured[i]!.stream;
      assert.equal(entry.sync_mode, stream.cursorField ? "incremental" : "full_refresh", stream.name);
      assert.deepEqual(entry.cursor_field, stream.cursorField ? [stream.cursorField] : undefined, stream.name);
      assert.deepEqual(entry.primary_key, stream.primaryKey, stream.name);
    }
  });

  test("invalid_config.json is a valid config whose credentials are wrong; sample_config.json is the simulator's", () => {
    const now = new Date();
    const invalid = parseConfig(readJson("integration_tests/invalid_config.json"), now);
    assert.equal(invalid.credentials.auth_type, "bearer");
    assert.notEqual((invalid.credentials as { token: string }).token, "sim-token");
    const sample = parseConfig(readJson("integration_tests/sample_config.json"), now);
    assert.deepEqual(sample.credentials, { auth_type: "bearer", token: "sim-token" });
    assert.equal(sample.apiUrl, "http://127.0.0.1:8765/2.0");
  });
});

describe("docs", () => {
  test("docs/bitbucket-pipelines.md lists every stream with its primary key and cursor", () => {
    const docs = read("docs/bitbucket-pipelines.md");
    for (const stream of STREAMS) {
      const row = docs.split("\n").find((l) => l.startsWith(`| \`${stream.name}\` |`));
      assert.ok(row, `a row for ${stream.name}`);
      const [, , key, cursor] = row.split("|").map((c) => c.trim());
      assert.equal(key, `\`${stream.primaryKey.map((k) => k.join(".")).join(", ")}\``, `${stream.name} primary key`);
      assert.equal(cursor, stream.cursorField ? `\`${stream.cursorField}\`` : "", `${stream.name} cursor`);
    }
  });

  test("CHANGELOG.md and the docs page start with the package version", () => {
    assert.match(read("CHANGELOG.md"), new RegExp(`^## ${packageJson.version.replaceAll(".", "\\.")} `, "m"));
    const docs = read("docs/bitbucket-pipelines.md");
    const firstRow = docs
      .slice(docs.indexOf("## Changelog"))
      .split("\n")
      .find((l) => /^\| \d/.test(l));
    assert.ok(firstRow?.startsWith(`| ${packageJson.version} `), `first changelog row: ${firstRow}`);
  });
});
