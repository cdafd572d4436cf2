// The numbers the report shows, computed from the loaded records. Pure functions, no I/O.
import type { Dataset, Deployment, Run } from "./load.js";

const DAY = 86_400_000;
const WEEK = 7 * DAY;

/** Deployment statuses that count as a failed change. */
export const FAILURE_STATUSES = new Set(["FAILED", "ERROR", "STOPPED"]);
/** Statuses of a deployment (or run) that has finished, whatever its outcome. */
const FINISHED_STATUSES = new Set(["SUCCESSFUL", "FAILED", "ERROR", "STOPPED", "EXPIRED", "COMPLETED"]);
/** Statuses of a deployment that has not finished. */
const ACTIVE_STATUSES = new Set(["IN_PROGRESS", "PENDING", "RUNNING", "PAUSED", "QUEUED", "HALTED", "UNDEPLOYED"]);
/** Step results that count as a failing step. */
export const STEP_FAILURE_RESULTS = new Set(["FAILED", "ERROR"]);

// ---------------------------------------------------------------------------------------------
// ISO weeks

export interface IsoWeek {
  /** Monday 00:00 UTC of the week, in ms */
  monday: number;
  year: number;
  week: number;
  /** "2026-W36" */
  key: string;
}

/** The ISO-8601 week (Monday to Sunday, UTC) that contains `ms`. */
export function isoWeek(ms: number): IsoWeek {
  const midnight = Math.floor(ms / DAY) * DAY;
  const weekday = (new Date(midnight).getUTCDay() + 6) % 7; // Monday 0 … Sunday 6
  const monday = midnight - weekday * DAY;
  const thursday = monday + 3 * DAY; // the week belongs to the year its Thursday is in
  const year = new Date(thursday).getUTCFullYear();
  const week = Math.floor((thursday - Date.UTC(year, 0, 1)) / WEEK) + 1;
  return { monday, year, week, key: `${year}-W${String(week).padStart(2, "0")}` };
}

/** Every ISO week from the one containing `from` to the one containing `to`, gaps included. */
export function weeksBetween(from: number, to: number): IsoWeek[] {
  const weeks: IsoWeek[] = [];
  for (let m = isoWeek(from).monday; m <= to; m += WEEK) weeks.push(isoWeek(m));
  return weeks;
}

// ---------------------------------------------------------------------------------------------
// Percentiles

/**
 * The q-quantile (0..1) of `values` by linear interpolation between the closest ranks (the
 * method of numpy's default, R's type 7 and spreadsheets' PERCENTILE.INC). Null when empty.
 */
export function percentile(values: readonly number[], q: number): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  const h = (sorted.length - 1) * q;
  const lo = Math.floor(h);
  const a = sorted[lo] as number;
  const b = sorted[Math.min(lo + 1, sorted.length - 1)] as number;
  return a + (h - lo) * (b - a);
}

// ---------------------------------------------------------------------------------------------
// Deployments

export interface Series {
  key: string;
  label: string;
  environment: string;
  environmentType: string | null;
  source: string;
  rule: string | null;
  /** true for deployments inferred by a rule (drawn hatched) */
  inferred: boolean;
  total: number;
}

export interface WeekCounts extends IsoWeek {
  counts: Map<string, number>;
  total: number;
  /** deployments whose status counts as a failure */
  failed: number;
  /** finished deployments (the CFR denominator) */
  completed: number;
  /** failed / completed, null when nothing finished that week */
  cfr: number | null;
}

export interface DeploymentMetrics {
  total: number;
  bySource: Map<string, number>;
  series: Series[];
  weeks: WeekCounts[];
  /** deployments without a (parseable) started_on: not in any week */
  undated: number;
  /** weeks cut off the start when the range was longer than `maxWeeks` */
  weeksDropped: number;
  deploymentsDropped: number;
  overall: { failed: number; completed: number; cfr: number | null };
  /** CFR per series, same order as `series` */
  bySeries: { series: Series; failed: number; completed: number; cfr: number | null }[];
}

const ENV_TYPE_RANK: Record<string, number> = { production: 0, staging: 1, test: 2 };

export function isFinished(d: Pick<Deployment, "status" | "completed">): boolean {
  const s = d.status ?? "";
  if (FINISHED_STATUSES.has(s)) return true;
  return d.completed !== null && !ACTIVE_STATUSES.has(s);
}

export function isFailure(d: Pick<Deployment, "status">): boolean {
  return FAILURE_STATUSES.has(d.status ?? "");
}

export function sourceLabel(source: string, rule: string | null): string {
  if (source === "bitbucket_deployments") return "Bitbucket";
  if (source === "rule") return rule ? `rule ${rule}` : "rule";
  return source;
}

function seriesOf(d: Deployment): Omit<Series, "total"> {
  const environment = d.environment ?? "(no environment)";
  const rule = d.source === "rule" ? d.rule : null;
  return {
    key: JSON.stringify([environment, d.source, rule]),
    label: `${environment} (${sourceLabel(d.source, rule)})`,
    environment,
    environmentType: d.environmentType,
    source: d.source,
    rule,
    inferred: d.source === "rule",
  };
}

function compareSeries(a: Series, b: Series): number {
  const rank = (s: Series) => ENV_TYPE_RANK[s.environmentType ?? ""] ?? 3;
  return (
    rank(a) - rank(b) ||
    a.environment.localeCompare(b.environment, "en", { sensitivity: "base" }) ||
    Number(a.inferred) - Number(b.inferred) ||
    (a.rule ?? "").localeCompare(b.rule ?? "")
  );
}

const ratio = (failed: number, completed: number): number | null => (completed > 0 ? failed / completed : null);

export function deploymentMetrics(deployments: Iterable<Deployment>, maxWeeks = 104): DeploymentMetrics {
  const all = [...deployments];
  const bySource = new Map<string, number>();
  const seriesByKey = new Map<string, Series>();
  const perSeries = new Map<string, { failed: number; completed: number }>();
  let failed = 0;
  let completed = 0;
  let undated = 0;
  let first = Infinity;
  let last = -Infinity;
  for (const d of all) {
    bySource.set(d.source, (bySource.get(d.source) ?? 0) + 1);
    const s = seriesOf(d);
    const series = seriesByKey.get(s.key) ?? { ...s, total: 0 };
    series.total++;
    seriesByKey.set(s.key, series);
    const counts = perSeries.get(s.key) ?? { failed: 0, completed: 0 };
    perSeries.set(s.key, counts);
    if (isFinished(d)) {
      completed++;
      counts.completed++;
      if (isFailure(d)) {
        failed++;
        counts.failed++;
      }
    }
    if (d.started === null) undated++;
    else {
      first = Math.min(first, d.started);
      last = Math.max(last, d.started);
    }
  }
  const series = [...seriesByKey.values()].sort(compareSeries);

  let weeks: WeekCounts[] = [];
  let weeksDropped = 0;
  let deploymentsDropped = 0;
  if (first <= last) {
    const range = weeksBetween(first, last);
    weeksDropped = Math.max(0, range.length - maxWeeks);
    weeks = range.slice(weeksDropped).map((w) => ({ ...w, counts: new Map(), total: 0, failed: 0, completed: 0, cfr: null }));
    const byMonday = new Map(weeks.map((w) => [w.monday, w]));
    for (const d of all) {
      if (d.started === null) continue;
      const week = byMonday.get(isoWeek(d.started).monday);
      if (!week) {
        deploymentsDropped++;
        continue;
      }
      const key = seriesOf(d).key;
      week.counts.set(key, (week.counts.get(key) ?? 0) + 1);
      week.total++;
      if (isFinished(d)) {
        week.completed++;
        if (isFailure(d)) week.failed++;
      }
    }
    for (const w of weeks) w.cfr = ratio(w.failed, w.completed);
  }
  return {
    total: all.length,
    bySource,
    series,
    weeks,
    undated,
    weeksDropped,
    deploymentsDropped,
    overall: { failed, completed, cfr: ratio(failed, completed) },
    bySeries: series.map((s) => {
      const c = perSeries.get(s.key) ?? { failed: 0, completed: 0 };
      return { series: s, failed: c.failed, completed: c.completed, cfr: ratio(c.failed, c.completed) };
    }),
  };
}

// ---------------------------------------------------------------------------------------------
// Run durations

export interface RepoDurations {
  repository: string;
  /** completed runs with a duration */
  runs: number;
  p50: number;
  p95: number;
  max: number;
}

export const isCompletedRun = (r: Run): boolean => r.state === "COMPLETED" || (r.state === null && r.completed !== null);

/** p50/p95 of duration_in_seconds of completed runs, per repository, slowest p95 first. */
export function durationMetrics(runs: Iterable<Run>): RepoDurations[] {
  const byRepo = new Map<string, number[]>();
  for (const r of runs) {
    if (!isCompletedRun(r) || r.duration === null || r.duration < 0) continue;
    const key = r.repository ?? "(unknown repository)";
    const list = byRepo.get(key) ?? [];
    list.push(r.duration);
    byRepo.set(key, list);
  }
  return [...byRepo]
    .map(([repository, values]) => ({
      repository,
      runs: values.length,
      p50: percentile(values, 0.5) ?? 0,
      p95: percentile(values, 0.95) ?? 0,
      max: Math.max(...values),
    }))
    .sort((a, b) => b.p95 - a.p95 || b.p50 - a.p50 || a.repository.localeCompare(b.repository));
}

// ---------------------------------------------------------------------------------------------
// Failing steps

export interface FailingStep {
  name: string;
  repository: string;
  failed: number;
  error: number;
  failures: number;
  /** completed executions of this step that ran (NOT_RUN excluded) */
  executions: number;
  rate: number;
}

/** Steps (name × repository) by number of FAILED/ERROR results, most first; only those that failed. */
export function failingSteps(steps: Dataset["steps"]): FailingStep[] {
  const byKey = new Map<string, FailingStep>();
  for (const s of steps.values()) {
    const name = s.name ?? "(unnamed step)";
    const repository = s.repository ?? "(unknown repository)";
    const key = JSON.stringify([name, repository]);
    const entry = byKey.get(key) ?? { name, repository, failed: 0, error: 0, failures: 0, executions: 0, rate: 0 };
    byKey.set(key, entry);
    if (s.state === "COMPLETED" && s.result !== "NOT_RUN") entry.executions++;
    if (s.result === "FAILED") entry.failed++;
    if (s.result === "ERROR") entry.error++;
  }
  return [...byKey.values()]
    .map((e) => ({ ...e, failures: e.failed + e.error, rate: e.executions > 0 ? (e.failed + e.error) / e.executions : 0 }))
    .filter((e) => e.failures > 0)
    .sort(
      (a, b) =>
        b.failures - a.failures || b.rate - a.rate || a.name.localeCompare(b.name) || a.repository.localeCompare(b.repository),
    );
}

// ---------------------------------------------------------------------------------------------
// Totals

export interface Totals {
  runs: number;
  completedRuns: number;
  /** result of completed runs, or stage/state of the others: [name, count], known outcomes first */
  runsByResult: [string, number][];
  steps: number;
  deployments: number;
  environments: number;
  /** repositories in repositories.jsonl, or seen on other records when that file is absent */
  repositories: number;
  repositoriesWithRuns: number;
  from: number | null;
  to: number | null;
}

const RESULT_ORDER = ["SUCCESSFUL", "FAILED", "ERROR", "STOPPED", "EXPIRED"];

export function totals(data: Dataset): Totals {
  const byResult = new Map<string, number>();
  const withRuns = new Set<string>();
  const seen = new Set<string>();
  let from = Infinity;
  let to = -Infinity;
  const span = (t: number | null) => {
    if (t === null) return;
    from = Math.min(from, t);
    to = Math.max(to, t);
  };
  let completedRuns = 0;
  for (const r of data.runs.values()) {
    const key = r.result ?? r.state ?? "UNKNOWN";
    byResult.set(key, (byResult.get(key) ?? 0) + 1);
    if (isCompletedRun(r)) completedRuns++;
    if (r.repository) withRuns.add(r.repository);
    span(r.created);
    span(r.completed);
  }
  for (const d of data.deployments.values()) {
    span(d.started);
    span(d.completed);
    if (d.repository) seen.add(d.repository);
  }
  for (const s of data.steps.values()) if (s.repository) seen.add(s.repository);
  for (const r of withRuns) seen.add(r);
  const rank = (k: string) => {
    const i = RESULT_ORDER.indexOf(k);
    return i < 0 ? RESULT_ORDER.length : i;
  };
  return {
    runs: data.runs.size,
    completedRuns,
    runsByResult: [...byResult].sort((a, b) => rank(a[0]) - rank(b[0]) || b[1] - a[1] || a[0].localeCompare(b[0])),
    steps: data.steps.size,
    deployments: data.deployments.size,
    environments: data.environments.size,
    repositories: data.repositories.size > 0 ? data.repositories.size : seen.size,
    repositoriesWithRuns: withRuns.size,
    from: from <= to ? from : null,
    to: from <= to ? to : null,
  };
}
