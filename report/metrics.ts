// The numbers the report shows, computed from the loaded records. Pure functions, no I/O.
import type { Dataset, Deployment, DeploymentCommit, Run } from "./load.js";

const DAY = 86_400_000;
const WEEK = 7 * DAY;

/**
 * Deployment statuses that count as a failed change, and those of a finished deployment (the
 * change failure rate's denominator): the connector's own definitions (a FAILED or ERROR
 * production deployment is what gets a time to restore). STOPPED finished, but failed nothing.
 */
export const FAILURE_STATUSES = new Set(["FAILED", "ERROR"]);
export const FINISHED_STATUSES = new Set(["SUCCESSFUL", "FAILED", "ERROR", "STOPPED"]);
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

export function isFinished(d: Pick<Deployment, "status">): boolean {
  return FINISHED_STATUSES.has(d.status ?? "");
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

// ---------------------------------------------------------------------------------------------
// The four DORA keys, per environment type and per ISO week

export type Band = "elite" | "high" | "medium" | "low";
export const BANDS: readonly Band[] = ["elite", "high", "medium", "low"];
/** The edition whose performance bands the report applies (named on the page). */
export const BAND_EDITION = "DORA Accelerate State of DevOps Report 2023";

const HOUR_S = 3600;
const DAY_S = 86_400;
const WEEK_S = 7 * DAY_S;
/** "A month" in the bands. */
const MONTH_DAYS = 30;

// Counts, not rates, where a boundary must hold exactly (3 failed of 30 is 10%, not 10.000…1%).

/** Elite: more than one successful deployment a day; high: at least one a week; medium: at least one a month. */
export function frequencyBand(deployments: number, days: number): Band {
  if (deployments > days) return "elite";
  if (deployments * 7 >= days) return "high";
  if (deployments * MONTH_DAYS >= days) return "medium";
  return "low";
}

/** Elite: under a day; high: up to a week; medium: up to a month; low: longer. */
export function leadTimeBand(seconds: number): Band {
  if (seconds < DAY_S) return "elite";
  if (seconds <= WEEK_S) return "high";
  if (seconds <= MONTH_DAYS * DAY_S) return "medium";
  return "low";
}

/** Elite: at most 5%; high: at most 10%; medium: at most 15%; low: more. */
export function failureRateBand(failed: number, finished: number): Band {
  if (failed * 100 <= 5 * finished) return "elite";
  if (failed * 100 <= 10 * finished) return "high";
  if (failed * 100 <= 15 * finished) return "medium";
  return "low";
}

/** Elite: under an hour; high: under a day; medium: up to a week; low: longer. */
export function restoreBand(seconds: number): Band {
  if (seconds < HOUR_S) return "elite";
  if (seconds < DAY_S) return "high";
  if (seconds <= WEEK_S) return "medium";
  return "low";
}

/**
 * The time to restore of each failed production deployment (FAILED or ERROR, environment type
 * production), by id; null while not restored. The record's restored_after_seconds when it has
 * the field; for files written before the connector had it, computed the connector's way: from
 * the failure's completion to the completion of the first later successful deployment to the
 * same environment (its uuid, else its name) of the same repository.
 */
export function restoreTimes(deployments: Iterable<Deployment>): Map<string, number | null> {
  const all = [...deployments];
  const environmentOf = (d: Deployment) =>
    JSON.stringify([d.repositoryUuid ?? d.repository, d.environmentUuid ?? `name:${d.environment}`]);
  const successes = new Map<string, number[]>();
  for (const d of all) {
    if (d.status !== "SUCCESSFUL" || d.completed === null) continue;
    const key = environmentOf(d);
    successes.set(key, [...(successes.get(key) ?? []), d.completed]);
  }
  const times = new Map<string, number | null>();
  for (const d of all) {
    if (!isFailure(d) || d.environmentType !== "production") continue;
    if (d.restoredAfter !== undefined) times.set(d.id, d.restoredAfter);
    else {
      const failedAt = d.completed;
      const later = failedAt === null ? [] : (successes.get(environmentOf(d)) ?? []).filter((t) => t > failedAt);
      times.set(
        d.id,
        failedAt === null || later.length === 0 ? null : (later.reduce((a, b) => Math.min(a, b)) - failedAt) / 1000,
      );
    }
  }
  return times;
}

/** The four keys over one set of deployments (an environment type, or one week of it). */
export interface DoraFigures {
  /** days the deployment frequency is over */
  days: number;
  /** successful deployments */
  deployments: number;
  /** successful deployments a day */
  perDay: number | null;
  /** commits shipped (deployment_commits records) with a lead time */
  commits: number;
  leadMedian: number | null;
  leadP90: number | null;
  /** FAILED or ERROR deployments, of the finished ones */
  failed: number;
  finished: number;
  cfr: number | null;
  /** failed production deployments (time to restore applies to them), and those restored */
  failures: number;
  restored: number;
  restoreMedian: number | null;
}

export interface DoraBands {
  frequency: Band | null;
  leadTime: Band | null;
  failureRate: Band | null;
  restore: Band | null;
}

export interface DoraWeek extends IsoWeek {
  figures: DoraFigures;
}

export interface DoraType {
  /** environment_type, lower case; "(no type)" when the records have none */
  type: string;
  figures: DoraFigures;
  bands: DoraBands;
  /** every week of the period, gaps included */
  weeks: DoraWeek[];
}

export interface DoraKeys {
  /** first and last UTC day (ms) a deployment finished on (or a commit was deployed on), inclusive */
  period: { from: number; to: number; days: number } | null;
  /** production first */
  types: DoraType[];
  /** deployment_commits records with a lead time: none means lead time cannot be shown */
  commits: number;
}

/** The bands of one set of figures: the frequency over its days, the lead and restore times by their median. */
export function doraBands(f: DoraFigures): DoraBands {
  return {
    frequency: f.days > 0 ? frequencyBand(f.deployments, f.days) : null,
    leadTime: f.leadMedian === null ? null : leadTimeBand(f.leadMedian),
    failureRate: f.finished > 0 ? failureRateBand(f.failed, f.finished) : null,
    restore: f.restoreMedian === null ? null : restoreBand(f.restoreMedian),
  };
}

interface Tally {
  deployments: number;
  leads: number[];
  failed: number;
  finished: number;
  failures: number;
  restores: number[];
}

const newTally = (): Tally => ({ deployments: 0, leads: [], failed: 0, finished: 0, failures: 0, restores: [] });

function figuresOf(t: Tally, days: number): DoraFigures {
  return {
    days,
    deployments: t.deployments,
    perDay: days > 0 ? t.deployments / days : null,
    commits: t.leads.length,
    leadMedian: percentile(t.leads, 0.5),
    leadP90: percentile(t.leads, 0.9),
    failed: t.failed,
    finished: t.finished,
    cfr: ratio(t.failed, t.finished),
    failures: t.failures,
    restored: t.restores.length,
    restoreMedian: percentile(t.restores, 0.5),
  };
}

export const NO_TYPE = "(no type)";

/**
 * The four keys per environment type, in total and per ISO week of completion: deployments
 * count when they finished (successful ones for the frequency, finished ones for the failure
 * rate, failed production ones for the time to restore), commits when they were deployed. Both
 * sources (Bitbucket's deployments and rule-inferred ones) count. The frequency is over the
 * days from the first to the last day anything finished, the same days for every type.
 */
export function doraKeys(deployments: Iterable<Deployment>, commits: Iterable<DeploymentCommit>): DoraKeys {
  const all = [...deployments];
  const typeById = new Map(all.map((d) => [d.id, d.environmentType]));
  const restores = restoreTimes(all);
  const finished = all.filter((d) => isFinished(d) && d.completed !== null);
  const shipped = [...commits].filter((c) => c.leadTime !== null && c.deployedOn !== null);
  const times = [...finished.map((d) => d.completed as number), ...shipped.map((c) => c.deployedOn as number)];
  if (times.length === 0) return { period: null, types: [], commits: 0 };
  // a loop, not Math.min(...times): a large folder has more commits than a call has arguments
  const from = Math.floor(times.reduce((a, b) => Math.min(a, b)) / DAY) * DAY;
  const to = Math.floor(times.reduce((a, b) => Math.max(a, b)) / DAY) * DAY;
  const days = (to - from) / DAY + 1;
  const range = weeksBetween(from, to);

  const tallies = new Map<string, { total: Tally; weeks: Map<number, Tally> }>();
  const tallyOf = (type: string | null | undefined, at: number): Tally[] => {
    const key = type ?? NO_TYPE;
    let entry = tallies.get(key);
    if (!entry) {
      entry = { total: newTally(), weeks: new Map(range.map((w) => [w.monday, newTally()])) };
      tallies.set(key, entry);
    }
    const week = entry.weeks.get(isoWeek(at).monday) as Tally;
    return [entry.total, week];
  };
  for (const d of finished) {
    for (const t of tallyOf(d.environmentType, d.completed as number)) {
      t.finished++;
      if (d.status === "SUCCESSFUL") t.deployments++;
      if (isFailure(d)) t.failed++;
      if (restores.has(d.id)) {
        t.failures++;
        const r = restores.get(d.id);
        if (typeof r === "number") t.restores.push(r);
      }
    }
  }
  for (const c of shipped) {
    const type = c.environmentType ?? typeById.get(c.deploymentId);
    for (const t of tallyOf(type, c.deployedOn as number)) t.leads.push(c.leadTime as number);
  }

  const rank = (type: string) => (type === NO_TYPE ? 4 : (ENV_TYPE_RANK[type] ?? 3));
  const types = [...tallies]
    .sort(([a], [b]) => rank(a) - rank(b) || a.localeCompare(b))
    .map(([type, t]) => {
      const figures = figuresOf(t.total, days);
      return {
        type,
        figures,
        bands: doraBands(figures),
        weeks: range.map((w) => ({ ...w, figures: figuresOf(t.weeks.get(w.monday) as Tally, 7) })),
      };
    });
  return { period: { from, to, days }, types, commits: shipped.length };
}
