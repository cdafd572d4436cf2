import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { runConnector } from "./helpers/run.js";

test("spec prints exactly spec.json as one SPEC message", async () => {
  const result = await runConnector(["spec"]);
  assert.equal(result.code, 0);
  assert.equal(result.messages.length, 1);
  const [message] = result.messages;
  assert.equal(message?.type, "SPEC");
  assert.deepEqual(message?.spec, JSON.parse(readFileSync("spec.json", "utf8")));
});

test("an unknown command is a usage error with exit code 2 and nothing on stdout", async () => {
  const result = await runConnector(["frobnicate"]);
  assert.equal(result.code, 2);
  assert.equal(result.stdout, "");
  assert.match(result.stderr, /Unknown argument: frobnicate/);
});
