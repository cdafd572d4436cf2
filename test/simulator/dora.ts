// The four DORA keys for production-type environments, computed in plain TypeScript from the
// connector's records, with no SQL: what `npm run demo` prints, and the figures
// test/sql-dora.test.ts holds the README's SQL to. The records must be deduplicated already.
type Row = Record<string, unknown>;

const DAY = 86_400_000;
const HOUR = 3600;

/** The q-quantile by linear interpolation between closest ranks, as SQL's percentile_cont. */
export function percentile(values: number[], q: number): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  const h = (sorted.length - 1) * q;
  const lo = Math.floor(h);
  const a = sorted[lo]!;
  return a + (h - lo) * (sorted[Math.min(lo + 1, sorted.length - 1)]! - a);
}

/** UTC day number of a timestamp. */
const dayOf = (timestamp: string): number => Math.floor(Date.parse(timestamp) / DAY);
/** "YYYY-MM-DD" of the Monday (UTC) of the ISO week a timestamp is in. Day 0 was a Thursday. */
export function mondayOf(timestamp: string): string {
  const day = dayOf(timestamp);
  return new Date((day - ((day + 3) % 7)) * DAY).toISOString().slice(0, 10);
}

const FAILED = ["FAILED", "ERROR"];
const FINISHED = ["SUCCESSFUL", "FAILED", "ERROR", "STOPPED"];

export interface DoraKeys {
  /** Successful production deployments per ISO week (Monday, UTC), by completed_on. */
  perWeek: Map<string, number>;
  frequency: { deployments: number; days: number; perDay: number | null };
  leadTime: { commits: number; medianHours: number | null; p90Hours: number | null };
  changeFailure: { finished: number; failed: number; rate: number | null };
  restore: { failures: number; restored: number; medianHours: number | null };
}

export function doraKeys(deployments: Row[], deploymentCommits: Row[]): DoraKeys {
  const production = deployments.filter((d) => d.environment_type === "production");
  const successes = production.filter((d) => d.status === "SUCCESSFUL" && typeof d.completed_on === "string");
  const perWeek = new Map<string, number>();
  for (const d of successes)
    perWeek.set(mondayOf(d.completed_on as string), (perWeek.get(mondayOf(d.completed_on as string)) ?? 0) + 1);
  const days = successes.map((d) => dayOf(d.completed_on as string));
  const span = days.length ? Math.max(...days) - Math.min(...days) + 1 : 0;

  const leadTimes = deploymentCommits
    .filter((c) => c.environment_type === "production" && typeof c.lead_time_seconds === "number")
    .map((c) => c.lead_time_seconds as number);
  const hours = (seconds: number | null) => (seconds === null ? null : seconds / HOUR);

  const finished = production.filter((d) => FINISHED.includes(String(d.status)));
  const failed = finished.filter((d) => FAILED.includes(String(d.status)));
  const restored = failed
    .filter((d) => typeof d.restored_after_seconds === "number")
    .map((d) => d.restored_after_seconds as number);
  return {
    perWeek,
    frequency: { deployments: successes.length, days: span, perDay: span ? successes.length / span : null },
    leadTime: {
      commits: leadTimes.length,
      medianHours: hours(percentile(leadTimes, 0.5)),
      p90Hours: hours(percentile(leadTimes, 0.9)),
    },
    changeFailure: {
      finished: finished.length,
      failed: failed.length,
      rate: finished.length ? failed.length / finished.length : null,
    },
    restore: { failures: failed.length, restored: restored.length, medianHours: hours(percentile(restored, 0.5)) },
  };
}

/** One line for the demo's summary. */
export function describeKeys(k: DoraKeys): string {
  const h = (x: number | null) => (x === null ? "n/a" : `${x.toFixed(1)} h`);
  const pct = (x: number | null) => (x === null ? "n/a" : `${(x * 100).toFixed(1)}%`);
  return [
    `deployment frequency ${k.frequency.perDay?.toFixed(2) ?? "n/a"}/day (${k.frequency.deployments} successful in ${k.frequency.days} days)`,
    `lead time for changes median ${h(k.leadTime.medianHours)}, p90 ${h(k.leadTime.p90Hours)} (${k.leadTime.commits} commits)`,
    `change failure rate ${pct(k.changeFailure.rate)} (${k.changeFailure.failed} of ${k.changeFailure.finished})`,
    `time to restore median ${h(k.restore.medianHours)} (${k.restore.restored} of ${k.restore.failures} failures restored)`,
  ].join("; ");
}
