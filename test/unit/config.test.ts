// Config inputs a form or an editor legitimately produces.
import assert from "node:assert/strict";
import { test } from "node:test";
import { parseConfig, readJsonFile } from "../../src/config.js";
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
