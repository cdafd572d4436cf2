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

test("--help for every command and --version answer on stdout and exit 0", async () => {
  const version = JSON.parse(readFileSync("package.json", "utf8")).version as string;
  const v = await runConnector(["--version"]);
  assert.equal(v.code, 0);
  assert.equal(v.stdout.trim(), version);
  for (const [command, expected] of [
    ["", /Commands:[\s\S]*spec[\s\S]*check[\s\S]*discover[\s\S]*read[\s\S]*Exit codes/],
    ["check", /--config/],
    ["discover", /--config/],
    ["read", /--catalog[\s\S]*--state/],
  ] as const) {
    const result = await runConnector([...(command ? [command] : []), "--help"]);
    assert.equal(result.code, 0, command);
    assert.match(result.stdout, expected);
  }
});

test("a missing required option is a usage error naming it", async () => {
  const result = await runConnector(["read", "--config", "x.json"]);
  assert.equal(result.code, 2);
  assert.equal(result.stdout, "");
  assert.match(result.stderr, /Missing required argument: catalog/);
});

test("an option without its path, or given twice, is a usage error naming it", async () => {
  for (const [args, expected] of [
    [["read", "--config", "c.json", "--catalog", "k.json", "--state"], /Not enough arguments following: state/],
    [["check", "--config", "a.json", "--config", "b.json"], /--config is given more than once/],
  ] as const) {
    const result = await runConnector([...args]);
    assert.equal(result.code, 2, args.join(" "));
    assert.equal(result.stdout, "");
    assert.match(result.stderr, expected);
  }
});
