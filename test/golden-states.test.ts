// States written by release 0.1.0 keep working: each golden scenario (test/golden/0.1.0, written
// once by test/golden/make.ts) rebuilds the simulator its next sync saw, reads with its saved
// state on the same fixed clock, and must make the same requests and emit the same records.
// Order is not compared: repositories are read concurrently.
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { describe, test } from "node:test";
import { recordKeys, type SimulatorPlan, startPlanned, sync } from "./golden/replay.js";
import { assertValidMessages, errors } from "./helpers/protocol.js";

const ROOT = new URL("./golden/0.1.0/", import.meta.url);
const SCENARIOS = readdirSync(ROOT);

/** Equal as multisets (both lists sorted), with the differences named. */
function assertSameList(actual: string[], expected: string[], what: string): void {
  const extra = [...actual];
  const missing = expected.filter((e) => {
    const i = extra.indexOf(e);
    if (i >= 0) extra.splice(i, 1);
    return i < 0;
  });
  assert.ok(
    missing.length === 0 && extra.length === 0,
    `${what}: ${actual.length} instead of ${expected.length}; missing ${JSON.stringify(missing.slice(0, 5))}, unexpected ${JSON.stringify(extra.slice(0, 5))}`,
  );
}

describe("states written by 0.1.0 lead to the same requests and records", () => {
  test("the golden scenarios are there", () => {
    assert.deepEqual(SCENARIOS.sort(), ["all-streams", "bare-cursor", "idle-polling", "partial"]);
  });

  for (const name of SCENARIOS) {
    test(name, async () => {
      const file = (f: string): unknown => JSON.parse(readFileSync(new URL(`${name}/${f}.json`, ROOT), "utf8"));
      const plan = file("simulator") as SimulatorPlan;
      const sim = await startPlanned(plan);
      try {
        const files = { config: file("config"), catalog: file("catalog"), state: file("state") };
        const next = await sync(sim, files, Date.parse(plan.connector_now));
        assert.equal(next.code, 0, next.stderr);
        assert.deepEqual(errors(next.messages), []);
        assertValidMessages(next.messages);
        assertSameList(next.requests, file("requests") as string[], "requests");
        const expected = file("records") as Record<string, string[]>;
        const emitted = recordKeys(next.messages);
        assert.deepEqual(Object.keys(emitted).sort(), Object.keys(expected).sort(), "streams with records");
        for (const [stream, keys] of Object.entries(expected)) assertSameList(emitted[stream]!, keys, `${stream} records`);
      } finally {
        await sim.close();
      }
    });
  }
});
