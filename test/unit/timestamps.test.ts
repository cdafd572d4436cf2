import assert from "node:assert/strict";
import { test } from "node:test";
import { normaliseTimestamp, timestampFromMillis } from "../../src/bitbucket/timestamps.js";

test("timestamps in Bitbucket's forms normalise to one comparable form", () => {
  const same = [
    "2025-03-04T10:15:22.481Z",
    "2025-03-04T10:15:22.481000+00:00",
    "2025-03-04T10:15:22.481000000Z",
    "2025-03-04T11:15:22.481+01:00",
  ].map(normaliseTimestamp);
  assert.deepEqual(new Set(same), new Set(["2025-03-04T10:15:22.481000000Z"]));
  assert.equal(normaliseTimestamp("2025-03-04T10:15:22.481923456Z"), "2025-03-04T10:15:22.481923456Z");
  assert.equal(normaliseTimestamp("2025-03-04"), "2025-03-04T00:00:00.000000000Z");
  // Nine digits compare correctly as strings where raw values would not ("…22.5Z" > "…22.48Z").
  assert.ok(normaliseTimestamp("2025-03-04T10:15:22.5Z")! > normaliseTimestamp("2025-03-04T10:15:22.481923Z")!);
});

test("non-timestamps are refused", () => {
  for (const bad of ["yesterday", "2025-13-01T00:00:00Z", "2025-02-30", "2025-03-04T25:00:00Z", "", "1700000000"]) {
    assert.equal(normaliseTimestamp(bad), undefined, bad);
  }
});

test("millisecond round trip", () => {
  assert.equal(timestampFromMillis(Date.parse("2025-03-04T10:15:22.481Z")), "2025-03-04T10:15:22.481000000Z");
});
