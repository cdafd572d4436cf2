// What a complete read of a simulator must contain, and assertions shared by the fault, restart,
// bad-input and output tests.
import assert from "node:assert/strict";
import type { Simulator } from "../simulator/index.js";
import { errors, type Message, records, statuses } from "./protocol.js";

/** uuid of every repository the simulator serves. */
export function repoUuids(sim: Simulator): Set<string> {
  return new Set(sim.repositories().map((r) => r.uuid));
}

/** uuid of every run of every live repository. */
export function runUuids(sim: Simulator): Set<string> {
  const all = new Set<string>();
  for (const repo of sim.repositories()) for (const run of sim.runs(repo.slug)) all.add(run.uuid);
  return all;
}

/** uuids of a stream's records, asserting none is emitted twice. */
export function uuidsOnce(messages: Message[], stream: string): Set<string> {
  const seen = new Set<string>();
  for (const r of records(messages, stream)) {
    assert.ok(!seen.has(r.uuid), `${stream}: record ${r.uuid} emitted twice in one read`);
    seen.add(r.uuid);
  }
  return seen;
}

/** Set equality with a readable failure (counts and a few of the differences). */
export function assertSameSet(actual: Set<string>, expected: Set<string>, what: string): void {
  const missing = [...expected].filter((u) => !actual.has(u));
  const extra = [...actual].filter((u) => !expected.has(u));
  assert.ok(
    missing.length === 0 && extra.length === 0,
    `${what}: ${missing.length} missing (${missing.slice(0, 3).join(", ")}), ${extra.length} unexpected (${extra.slice(0, 3).join(", ")}) of ${expected.size}`,
  );
}

/** The read ended well: exit 0, no TRACE ERROR, every stream STARTED … COMPLETE. */
export function assertCompleted(result: { code: number | null; messages: Message[]; stderr: string }, streams: string[]): void {
  assert.deepEqual(errors(result.messages), [], "no TRACE ERROR");
  assert.equal(result.code, 0, `exit code (stderr: ${result.stderr.slice(0, 500)})`);
  for (const stream of streams) {
    const s = statuses(result.messages, stream);
    assert.equal(s[0], "STARTED", `${stream} statuses ${s.join(",")}`);
    assert.equal(s.at(-1), "COMPLETE", `${stream} statuses ${s.join(",")}`);
  }
}

/** A stack frame line as V8 prints them ("    at fn (file:1:2)"). */
export const STACK_FRAME = /^\s+at .+(\(.*:\d+:\d+\)|:\d+:\d+)$/m;
