import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { Ajv } from "ajv";
import { writeJson } from "./helpers/files.js";
import { assertValidMessages } from "./helpers/protocol.js";
import { runConnector } from "./helpers/run.js";

test("discover prints every stream with schemas, keys, cursors and sync modes, without any request", async () => {
  // api_url points at a closed port: discover must not need the network.
  const config = writeJson({
    workspace: "acme",
    credentials: { auth_type: "bearer", token: "t0ken" },
    api_url: "http://127.0.0.1:9/2.0",
  });
  const result = await runConnector(["discover", "--config", config]);
  assert.equal(result.code, 0, result.stderr);
  assertValidMessages(result.messages);
  assert.equal(result.messages.length, 1);
  const streams = result.messages[0]!.catalog.streams as Array<Record<string, any>>;
  assert.deepEqual(
    streams.map((s) => [
      s.name,
      s.default_cursor_field,
      s.source_defined_primary_key,
      s.supported_sync_modes,
      s.source_defined_cursor,
    ]),
    [
      ["repositories", ["updated_on"], [["uuid"]], ["full_refresh", "incremental"], true],
      ["pipelines", ["created_on"], [["uuid"]], ["full_refresh", "incremental"], true],
      ["pipeline_steps", ["pipeline_created_on"], [["uuid"]], ["full_refresh", "incremental"], true],
      ["environments", undefined, [["uuid"]], ["full_refresh"], undefined],
      ["deployments", ["pipeline_created_on"], [["id"]], ["full_refresh", "incremental"], true],
      [
        "deployment_commits",
        ["pipeline_created_on"],
        [["deployment_id"], ["commit_hash"]],
        ["full_refresh", "incremental"],
        true,
      ],
    ],
  );
  const ajv = new Ajv({ strict: false });
  for (const s of streams) {
    assert.deepEqual(s.json_schema, JSON.parse(readFileSync(`schemas/${s.name}.json`, "utf8")));
    assert.ok(ajv.validateSchema(s.json_schema), `${s.name} schema is valid draft-07`);
    const text = JSON.stringify(s.json_schema);
    assert.ok(!/"\$ref"|"allOf"|"not"/.test(text), "no $ref, allOf or not");
    if (s.default_cursor_field) assert.ok(s.json_schema.properties[s.default_cursor_field[0]], "the cursor is a schema property");
    for (const [key] of s.source_defined_primary_key)
      assert.ok(s.json_schema.properties[key], "the primary key is a schema property");
    assert.ok(!/"additionalProperties":false/.test(text), "schemas are permissive");
  }
});

test("catalog.sample.json configures every discovered stream, incrementally where it can", async () => {
  const sample = JSON.parse(readFileSync("catalog.sample.json", "utf8"));
  const config = writeJson({ workspace: "acme", credentials: { auth_type: "bearer", token: "t0ken" } });
  const discovered = (await runConnector(["discover", "--config", config])).messages[0]!.catalog.streams;
  assert.deepEqual(
    sample.streams.map((s: Record<string, any>) => s.stream),
    discovered,
  );
  assert.ok(sample.streams.every((s: Record<string, any>) => s.sync_mode === s.stream.supported_sync_modes.at(-1)));
});
