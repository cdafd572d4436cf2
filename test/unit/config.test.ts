// Config inputs a form or an editor legitimately produces.
import assert from "node:assert/strict";
import { test } from "node:test";
import { connectionSpecification, parseConfig, readJsonFile } from "../../src/config.js";
import { writeJson } from "../helpers/files.js";

const base = { workspace: "acme", credentials: { auth_type: "bearer", token: "sim-token" } };

test('start_date "" means no start date, as the spec says ("leave empty")', () => {
  assert.equal(parseConfig({ ...base, start_date: "" }, new Date()).startDate, undefined);
  assert.equal(
    parseConfig({ ...base, start_date: "2025-01-01T00:00:00Z" }, new Date()).startDate,
    "2025-01-01T00:00:00.000000000Z",
  );
});

test("a config file saved with a byte-order mark is read", () => {
  assert.deepEqual(readJsonFile(writeJson(`\uFEFF${JSON.stringify(base)}`, "config"), "config"), base);
});

test("every default comes from spec.json, once: an empty optional field takes spec.json's default", () => {
  const spec = connectionSpecification().properties as Record<string, { default?: unknown }>;
  const config = parseConfig(
    {
      workspace: "acme",
      credentials: { auth_type: "bearer", token: "t0ken" },
      deployment_rules: [{ name: "r", environment: "production", branch_pattern: "main" }],
    },
    new Date(),
  );
  const expected: Record<string, unknown> = {
    api_url: config.apiUrl,
    page_size: config.pageSize,
    lookback_hours: config.lookbackHours,
    max_retry_wait_seconds: config.maxRetryWaitSeconds,
    request_timeout_seconds: config.requestTimeoutSeconds,
    concurrency: config.concurrency,
    idle_repository_poll_hours: config.idleRepositoryPollHours,
    include_step_commands: config.includeStepCommands,
    include_commit_messages: config.includeCommitMessages,
  };
  for (const [field, value] of Object.entries(expected)) {
    assert.notEqual(spec[field]?.default, undefined, `spec.json gives ${field} a default`);
    assert.equal(value, spec[field]?.default, field);
  }
  assert.equal(config.deploymentRules[0]?.environmentType, "other");
});
