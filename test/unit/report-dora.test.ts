// The four DORA keys of the report (report/metrics.ts), on small hand-made record sets whose
// figures are worked out by hand in the comments, and on test/fixtures/report-dora (its README
// gives the figures). Pure functions and file reading only: no browser.
import assert from "node:assert/strict";
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { type Deployment, type DeploymentCommit, loadDataset } from "../../report/load.js";
import {
  type DoraType,
  doraKeys,
  failureRateBand,
  frequencyBand,
  leadTimeBand,
  restoreBand,
  restoreTimes,
} from "../../report/metrics.js";

const FIXTURE = fileURLToPath(new URL("../fixtures/report-dora", import.meta.url));
const at = (iso: string) => Date.parse(iso);
const DAY = 86_400;
const round = (v: number | null) => (v === null ? null : Math.round(v * 1000) / 1000);

function deployment(
  id: string,
  environment: string,
  status: string,
  completed: string | null,
  extra: Partial<Deployment> = {},
): Deployment {
  const type: Record<string, string> = { Prod: "production", Test: "test" };
  return {
    id,
    source: "bitbucket_deployments",
    rule: null,
    repositoryUuid: "{repo-1}",
    repository: "acme/one",
    environment,
    environmentType: type[environment] ?? null,
    environmentUuid: `{env-${environment}}`,
    status,
    started: completed === null ? null : at(completed) - 60_000,
    completed: completed === null ? null : at(completed),
    restoredAfter: undefined,
    ...extra,
  };
}

function commit(deploymentId: string, leadTime: number, deployedOn: string, environmentType: string | null): DeploymentCommit {
  return {
    deploymentId,
    commit: `${deploymentId}-${leadTime}`,
    repositoryUuid: "{repo-1}",
    repository: "acme/one",
    environment: null,
    environmentType,
    deployedOn: at(deployedOn),
    leadTime,
  };
}

const typeOf = (types: DoraType[], type: string): DoraType => types.find((t) => t.type === type) ?? assert.fail(type);

test("bands: DORA 2023 thresholds, boundaries included as the page says", () => {
  // deployment frequency over 14 days: more than one a day is elite; 2 in 14 days is once a week
  assert.equal(frequencyBand(15, 14), "elite");
  assert.equal(frequencyBand(14, 14), "high", "once a day is high (daily to weekly)");
  assert.equal(frequencyBand(2, 14), "high");
  assert.equal(frequencyBand(1, 14), "medium");
  assert.equal(frequencyBand(1, 30), "medium", "once in 30 days is monthly");
  assert.equal(frequencyBand(1, 31), "low");
  assert.equal(frequencyBand(0, 1), "low");
  // lead time
  assert.equal(leadTimeBand(DAY - 1), "elite");
  assert.equal(leadTimeBand(DAY), "high");
  assert.equal(leadTimeBand(7 * DAY), "high");
  assert.equal(leadTimeBand(7 * DAY + 1), "medium");
  assert.equal(leadTimeBand(30 * DAY), "medium");
  assert.equal(leadTimeBand(30 * DAY + 1), "low");
  // change failure rate, on counts: 3 of 30 is exactly 10%
  assert.equal(failureRateBand(0, 1), "elite");
  assert.equal(failureRateBand(1, 20), "elite");
  assert.equal(failureRateBand(2, 30), "high");
  assert.equal(failureRateBand(3, 30), "high");
  assert.equal(failureRateBand(3, 20), "medium");
  assert.equal(failureRateBand(4, 25), "low");
  // time to restore
  assert.equal(restoreBand(3599), "elite");
  assert.equal(restoreBand(3600), "high");
  assert.equal(restoreBand(DAY - 1), "high");
  assert.equal(restoreBand(DAY), "medium");
  assert.equal(restoreBand(7 * DAY), "medium");
  assert.equal(restoreBand(7 * DAY + 1), "low");
});

test("time to restore without the connector's field: the first later success to the same environment of the same repository", () => {
  const times = restoreTimes([
    deployment("ok-before", "Prod", "SUCCESSFUL", "2026-01-05T09:00:00Z"),
    deployment("failed", "Prod", "FAILED", "2026-01-05T10:00:00Z"),
    // another repository's success, and a success to another environment, restore nothing
    deployment("other-repo", "Prod", "SUCCESSFUL", "2026-01-05T10:10:00Z", { repositoryUuid: "{repo-2}" }),
    deployment("other-env", "Prod", "SUCCESSFUL", "2026-01-05T10:20:00Z", { environmentUuid: "{env-Prod-2}" }),
    deployment("stopped", "Prod", "STOPPED", "2026-01-05T10:25:00Z"),
    deployment("ok-later", "Prod", "SUCCESSFUL", "2026-01-05T11:30:00Z"), // restores "failed" (5400 s) and "error"
    deployment("ok-latest", "Prod", "SUCCESSFUL", "2026-01-05T12:00:00Z"),
    deployment("error", "Prod", "ERROR", "2026-01-05T11:00:00Z"), // order in the file does not matter
    deployment("unrestored", "Prod", "FAILED", "2026-01-05T13:00:00Z"),
    deployment("unfinished", "Prod", "FAILED", null),
    deployment("not-production", "Test", "FAILED", "2026-01-05T10:00:00Z"),
    deployment("stopped-is-no-failure", "Prod", "STOPPED", "2026-01-05T10:00:00Z"),
    // rule-inferred deployments have no environment uuid: their environment is their name
    deployment("rule-failed", "production", "FAILED", "2026-01-05T10:00:00Z", {
      source: "rule",
      environmentType: "production",
      environmentUuid: null,
    }),
    deployment("rule-ok", "production", "SUCCESSFUL", "2026-01-05T10:05:00Z", {
      source: "rule",
      environmentType: "production",
      environmentUuid: null,
    }),
  ]);
  assert.deepEqual(
    Object.fromEntries(times),
    { failed: 5400, error: 1800, unrestored: null, unfinished: null, "rule-failed": 300 },
    "only FAILED/ERROR production deployments",
  );
});

test("time to restore: the connector's restored_after_seconds wins when the record has it, null included", () => {
  const times = restoreTimes([
    deployment("failed", "Prod", "FAILED", "2026-01-05T10:00:00Z", { restoredAfter: 42 }),
    deployment("known-unrestored", "Prod", "FAILED", "2026-01-05T10:30:00Z", { restoredAfter: null }),
    deployment("ok", "Prod", "SUCCESSFUL", "2026-01-05T11:00:00Z", { restoredAfter: null }),
  ]);
  assert.deepEqual(Object.fromEntries(times), { failed: 42, "known-unrestored": null });
});

test("the four keys per environment type and per ISO week, from a small set worked out by hand", () => {
  const deployments = [
    // 2026-W02 (Mon 5 Jan)
    deployment("a1", "Prod", "SUCCESSFUL", "2026-01-05T00:00:00Z"),
    deployment("a2", "Prod", "FAILED", "2026-01-06T00:00:00Z"), // restored by a3: 1800 s
    deployment("a3", "Prod", "SUCCESSFUL", "2026-01-06T00:30:00Z"),
    deployment("a4", "Test", "SUCCESSFUL", "2026-01-07T00:00:00Z"),
    deployment("a5", "Test", "ERROR", "2026-01-08T00:00:00Z"),
    // 2026-W03 (Mon 12 Jan)
    deployment("a6", "Prod", "ERROR", "2026-01-12T12:00:00Z"), // restored by a7: 3 days, 259200 s
    deployment("a7", "Prod", "SUCCESSFUL", "2026-01-15T12:00:00Z"),
    deployment("a8", "Prod", "STOPPED", "2026-01-16T00:00:00Z"),
    deployment("a9", "Dev", "SUCCESSFUL", "2026-01-18T00:00:00Z"), // no environment type
    deployment("a10", "Prod", "IN_PROGRESS", null),
  ];
  const commits = [
    commit("a1", 600, "2026-01-05T00:00:00Z", "production"),
    commit("a3", 1200, "2026-01-06T00:30:00Z", null), // its type comes from deployment a3
    commit("a7", 3000, "2026-01-15T12:00:00Z", "production"),
  ];
  const keys = doraKeys(deployments, commits);
  // 5 Jan to 18 Jan inclusive
  assert.deepEqual(keys.period, { from: at("2026-01-05T00:00:00Z"), to: at("2026-01-18T00:00:00Z"), days: 14 });
  assert.equal(keys.commits, 3);
  assert.deepEqual(
    keys.types.map((t) => t.type),
    ["production", "test", "(no type)"],
  );

  const prod = typeOf(keys.types, "production");
  assert.deepEqual(prod.figures, {
    days: 14,
    deployments: 3, // a1, a3, a7
    perDay: 3 / 14,
    commits: 3,
    leadMedian: 1200, // of 600, 1200, 3000
    leadP90: 2640, // 1200 + 0.8 × (3000 − 1200)
    failed: 2, // a2, a6
    finished: 6, // a1, a2, a3, a6, a7, a8 (STOPPED finished; a10 did not)
    cfr: 2 / 6,
    failures: 2,
    restored: 2,
    restoreMedian: 130_500, // of 1800 and 259200
  });
  // 3 in 14 days: weekly or more, not daily; 1200 s < a day; 33% > 15%; 36h15m between a day and a week
  assert.deepEqual(prod.bands, { frequency: "high", leadTime: "elite", failureRate: "low", restore: "medium" });
  assert.deepEqual(
    prod.weeks.map((w) => [
      w.key,
      w.figures.deployments,
      w.figures.leadMedian,
      w.figures.leadP90,
      w.figures.failed,
      w.figures.finished,
      w.figures.restoreMedian,
    ]),
    [
      ["2026-W02", 2, 900, 1140, 1, 3, 1800], // leads 600 and 1200: p90 = 600 + 0.9 × 600
      ["2026-W03", 1, 3000, 3000, 1, 3, 259_200],
    ],
  );

  const t = typeOf(keys.types, "test");
  assert.deepEqual(
    [t.figures.deployments, t.figures.failed, t.figures.finished, t.figures.commits, t.figures.failures],
    [1, 1, 2, 0, 0],
    "a test failure has no time to restore",
  );
  // once in 14 days is between weekly and monthly; 50% failed
  assert.deepEqual(t.bands, { frequency: "medium", leadTime: null, failureRate: "low", restore: null });

  const none = typeOf(keys.types, "(no type)");
  assert.deepEqual(none.bands, { frequency: "medium", leadTime: null, failureRate: "elite", restore: null });
  assert.deepEqual(
    none.weeks.map((w) => w.figures.deployments),
    [0, 1],
  );
});

test("no finished deployment and no commit: no period, no types", () => {
  assert.deepEqual(doraKeys([deployment("x", "Prod", "IN_PROGRESS", null)], []), { period: null, types: [], commits: 0 });
});

test("the report-dora fixture read from its files gives the figures in its README", async () => {
  const data = await loadDataset(FIXTURE);
  assert.equal(data.deployments.size, 13, "14 lines, {dep-p2} twice");
  assert.equal(data.deployments.get("{dep-p2}")?.restoredAfter, 1800, "the later line wins");
  assert.equal(data.deploymentCommits.size, 9);
  const keys = doraKeys(data.deployments.values(), data.deploymentCommits.values());
  assert.equal(keys.period?.days, 14);
  const prod = typeOf(keys.types, "production");
  assert.deepEqual(
    [prod.figures.deployments, prod.figures.commits, round(prod.figures.leadMedian), round(prod.figures.leadP90)],
    [6, 8, 6300, 241_920], // interpolated: 241919.9999999999 in floating point
  );
  assert.deepEqual(
    [prod.figures.failed, prod.figures.finished, prod.figures.failures, prod.figures.restored, prod.figures.restoreMedian],
    [3, 10, 3, 2, 8100],
  );
  assert.deepEqual(prod.bands, { frequency: "high", leadTime: "elite", failureRate: "low", restore: "high" });
  assert.deepEqual(
    prod.weeks.map((w) => [
      w.key,
      w.figures.deployments,
      round(w.figures.leadMedian),
      round(w.figures.leadP90),
      w.figures.failed,
      w.figures.finished,
    ]),
    [
      ["2026-W10", 3, 6300, 32_400, 1, 4],
      ["2026-W11", 3, 45_000, 449_280, 2, 6],
    ],
  );
  const staging = typeOf(keys.types, "staging");
  assert.deepEqual([staging.figures.deployments, staging.figures.leadMedian, staging.figures.cfr], [1, 1_036_800, 0.5]);
  assert.deepEqual(staging.bands, { frequency: "medium", leadTime: "medium", failureRate: "low", restore: null });
});

test("files of older versions: no restored_after_seconds gives the same restore times, no deployment_commits no lead time", async () => {
  const dir = mkdtempSync(join(tmpdir(), "report-dora-old-"));
  try {
    const old = readFileSync(join(FIXTURE, "deployments.jsonl"), "utf8")
      .split("\n")
      .filter(Boolean)
      .map((line) => {
        const { restored_after_seconds: _, ...rest } = JSON.parse(line) as Record<string, unknown>;
        return JSON.stringify(rest);
      });
    writeFileSync(join(dir, "deployments.jsonl"), old.join("\n") + "\n");
    copyFileSync(join(FIXTURE, "repositories.jsonl"), join(dir, "repositories.jsonl"));
    const data = await loadDataset(dir);
    assert.equal(data.deployments.get("{dep-p2}")?.restoredAfter, undefined);
    assert.deepEqual(Object.fromEntries(restoreTimes(data.deployments.values())), {
      "{dep-p2}": 1800,
      "{dep-p5}": 14_400,
      "{dep-p9}": null,
    });
    const prod = typeOf(doraKeys(data.deployments.values(), data.deploymentCommits.values()).types, "production");
    assert.deepEqual([prod.figures.restoreMedian, prod.figures.commits, prod.bands.leadTime], [8100, 0, null]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
