// The README's SQL is known to work: `npm run demo` syncs the simulator (a full read, then an
// incremental one) into a temporary folder; its JSON-lines output is loaded into an in-memory
// DuckDB with the demo's loader; every ```sql block of the README (each behind a
// <!-- sql:name --> marker) is run there, and each answer is held to figures computed here, in
// TypeScript, from the JSON-lines records.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { after, before, describe, test } from "node:test";
import { promisify } from "node:util";
import { type DuckDBConnection, DuckDBInstance } from "@duckdb/node-api";
import { type DoraKeys, doraKeys, mondayOf, percentile } from "./simulator/dora.js";
import { type ConfiguredCatalog, loadStreams } from "./simulator/load-duckdb.js";

type Row = Record<string, unknown>;

const README = readFileSync(resolve("README.md"), "utf8");
/** The README's SQL blocks, each behind its marker. */
const BLOCKS = [...README.matchAll(/<!-- sql:(\w+) -->\n```sql\n([\s\S]*?)```/g)].map((m) => ({ name: m[1]!, sql: m[2]! }));

/** Each stream's records: the latest of each primary key (done here, not with the loader's code). */
const KEYS: Record<string, (r: Row) => string> = {
  pipelines: (r) => String(r.uuid),
  deployments: (r) => String(r.id),
  deployment_commits: (r) => `${r.deployment_id} ${r.commit_hash}`,
};
function lines(folder: string, stream: string): Row[] {
  return readFileSync(join(folder, `${stream}.jsonl`), "utf8")
    .split("\n")
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Row);
}
function latest(folder: string, stream: string): Row[] {
  return [...new Map(lines(folder, stream).map((r) => [KEYS[stream]!(r), r])).values()];
}

const near = (actual: unknown, expected: number | null, what: string) => {
  if (expected === null) return assert.equal(actual, null, what);
  assert.equal(typeof actual, "number", `${what}: ${String(actual)}`);
  assert.ok(
    Math.abs((actual as number) - expected) <= 1e-9 * Math.max(1, Math.abs(expected)),
    `${what}: ${actual} != ${expected}`,
  );
};
/** DuckDB gives BIGINT as text in JSON rows. */
const int = (v: unknown) => Number(v);
const day = (timestamp: unknown) => String(timestamp).slice(0, 10);
const count = <T>(map: Map<T, number>, key: T) => map.set(key, (map.get(key) ?? 0) + 1);

describe("README SQL on the demo's data", () => {
  let folder: string;
  let db: DuckDBInstance;
  let connection: DuckDBConnection;
  let pipelines: Row[];
  let deployments: Row[];
  let keys: DoraKeys;
  const answers = new Map<string, Row[]>();

  before(async () => {
    folder = mkdtempSync(join(tmpdir(), "sql-dora-"));
    await promisify(execFile)(process.execPath, ["--import", "tsx", "test/simulator/demo.ts", folder], { maxBuffer: 1 << 26 });
    db = await DuckDBInstance.create(":memory:");
    connection = await db.connect();
    const catalog = JSON.parse(readFileSync(join(folder, "catalog.json"), "utf8")) as ConfiguredCatalog;
    await loadStreams(connection, folder, catalog);
    for (const { name, sql } of BLOCKS) answers.set(name, (await connection.runAndReadAll(sql)).getRowObjectsJson() as Row[]);
    pipelines = latest(folder, "pipelines");
    deployments = latest(folder, "deployments");
    keys = doraKeys(deployments, latest(folder, "deployment_commits"));
  });
  after(() => {
    connection?.closeSync();
    db?.closeSync();
    if (folder) rmSync(folder, { recursive: true, force: true });
  });

  test("every README SQL block is run and checked, once", () => {
    assert.equal(BLOCKS.length, README.match(/```sql/g)?.length, "every ```sql block has a <!-- sql:name --> marker");
    assert.deepEqual(BLOCKS.map((b) => b.name).sort(), Object.keys(CHECKS).sort(), "one check per block, names unique");
    assert.equal(answers.size, 8);
  });

  test("the demo's data gives all four keys, from both reads, deduplicated", () => {
    assert.ok(keys.frequency.deployments > 20 && keys.perWeek.size > 4, "successful production deployments over weeks");
    assert.ok(keys.leadTime.commits > keys.frequency.deployments, "commits shipped to production");
    assert.ok(
      keys.changeFailure.failed > 2 && keys.changeFailure.finished > keys.changeFailure.failed,
      "failed production deployments",
    );
    assert.ok(keys.restore.restored > 2, "restored failures");
    // A failure restored by the incremental read is emitted twice: the last record wins.
    const all = lines(folder, "deployments");
    const restoredLater = all.filter(
      (d) => d.restored_after_seconds !== null && all.some((e) => e.id === d.id && e.restored_after_seconds === null),
    );
    assert.ok(restoredLater.length > 0, "a failure restored by the second read");
    assert.ok(all.length > deployments.length);
    // Runs unfinished at the first read come back finished.
    assert.ok(lines(folder, "pipelines").length > pipelines.length);
  });

  test("the demo's own database holds the same rows", async () => {
    const file = await DuckDBInstance.create(join(folder, "bitbucket.duckdb"), { access_mode: "READ_ONLY" });
    const c = await file.connect();
    try {
      const rows = (
        await c.runAndReadAll(
          "SELECT (SELECT count(*) FROM deployments) AS d, (SELECT count(*) FROM pipelines) AS p, (SELECT count(*) FROM deployment_commits) AS dc",
        )
      ).getRowObjectsJson()[0]!;
      assert.deepEqual(
        [int(rows.d), int(rows.p), int(rows.dc)],
        [deployments.length, pipelines.length, latest(folder, "deployment_commits").length],
      );
    } finally {
      c.closeSync();
      file.closeSync();
    }
  });

  const CHECKS: Record<string, () => void> = {
    runs_by_result: () => {
      const expected = new Map<string, number>();
      for (const r of pipelines) {
        const state = r.state as { name?: string; result?: { name?: string }; stage?: { name?: string } };
        const result = (state.name === "COMPLETED" ? state.result?.name : state.stage?.name) ?? null;
        count(expected, `${r.repository_full_name} ${result}`);
      }
      const rows = answers.get("runs_by_result")!;
      assert.deepEqual(new Map(rows.map((r) => [`${r.repository_full_name} ${r.result}`, int(r.runs)])), expected);
      assert.equal(rows.length, expected.size);
      for (let i = 1; i < rows.length; i++) {
        const [a, b] = [rows[i - 1]!, rows[i]!];
        assert.ok(
          String(a.repository_full_name) < String(b.repository_full_name) ||
            (a.repository_full_name === b.repository_full_name && int(a.runs) >= int(b.runs)),
          "ordered",
        );
      }
    },
    median_build_time: () => {
      const byRepo = new Map<string, Row[]>();
      for (const r of pipelines.filter((r) => (r.state as Row).name === "COMPLETED"))
        byRepo.set(String(r.repository_full_name), [...(byRepo.get(String(r.repository_full_name)) ?? []), r]);
      const rows = answers.get("median_build_time")!;
      assert.equal(rows.length, byRepo.size);
      for (const row of rows) {
        const runs = byRepo.get(String(row.repository_full_name))!;
        assert.equal(int(row.runs), runs.length);
        const durations = runs.map((r) => r.duration_in_seconds).filter((d): d is number => typeof d === "number");
        near(row.median_seconds, percentile(durations, 0.5), `median of ${row.repository_full_name}`);
      }
      assert.deepEqual(
        rows.map((r) => r.median_seconds),
        rows.map((r) => r.median_seconds).sort((a, b) => Number(b) - Number(a)),
      );
    },
    deployments_per_week: () => {
      const expected = new Map<string, number>();
      for (const d of deployments.filter((d) => d.status === "SUCCESSFUL"))
        count(expected, `${mondayOf(String(d.completed_on))} ${d.environment_type} ${d.environment}`);
      const rows = answers.get("deployments_per_week")!;
      assert.deepEqual(
        new Map(rows.map((r) => [`${day(r.week)} ${r.environment_type} ${r.environment}`, int(r.deployments)])),
        expected,
      );
      assert.equal(rows.length, expected.size);
    },
    deployment_frequency_weekly: () => {
      const rows = answers.get("deployment_frequency_weekly")!;
      assert.deepEqual(
        rows.map((r) => [day(r.week), int(r.deployments)]),
        [...keys.perWeek].sort(([a], [b]) => a.localeCompare(b)),
      );
    },
    deployment_frequency_daily: () => {
      const [row] = answers.get("deployment_frequency_daily")!;
      assert.equal(int(row!.deployments), keys.frequency.deployments);
      assert.equal(int(row!.days), keys.frequency.days);
      near(row!.per_day, keys.frequency.perDay, "per day");
    },
    lead_time: () => {
      const [row] = answers.get("lead_time")!;
      assert.equal(int(row!.commits), keys.leadTime.commits);
      near(row!.median_hours, keys.leadTime.medianHours, "median lead time");
      near(row!.p90_hours, keys.leadTime.p90Hours, "p90 lead time");
    },
    change_failure_rate: () => {
      const [row] = answers.get("change_failure_rate")!;
      assert.equal(int(row!.finished), keys.changeFailure.finished);
      assert.equal(int(row!.failed), keys.changeFailure.failed);
      near(row!.change_failure_rate, keys.changeFailure.rate, "change failure rate");
    },
    time_to_restore: () => {
      const [row] = answers.get("time_to_restore")!;
      assert.equal(int(row!.failures), keys.restore.failures);
      assert.equal(int(row!.restored), keys.restore.restored);
      near(row!.median_hours, keys.restore.medianHours, "median time to restore");
    },
  };
  for (const [name, check] of Object.entries(CHECKS)) test(`README SQL ${name}`, check);
});
