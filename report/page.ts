// The report page: one HTML document with its stylesheet and charts inline.
import { readFileSync } from "node:fs";
import { basename } from "node:path";
import {
  barChart,
  type Category,
  type ChartSeries,
  columnChart,
  durationTicks,
  esc,
  fmtDuration,
  fmtDurationTick,
  fmtPercent,
  fmtSpan,
  niceTicks,
} from "./charts.js";
import type { Dataset } from "./load.js";
import {
  BAND_EDITION,
  BANDS,
  type Band,
  type DeploymentMetrics,
  type DoraFigures,
  type DoraKeys,
  type DoraType,
  deploymentMetrics,
  doraKeys,
  durationMetrics,
  type FailingStep,
  failingSteps,
  type RepoDurations,
  type Totals,
  totals,
} from "./metrics.js";

/** Colours of the deployment series, in order (Okabe–Ito first: distinguishable with colour-blindness). */
export const DEPLOYMENT_COLORS = [
  "#0072B2",
  "#E69F00",
  "#009E73",
  "#CC79A7",
  "#56B4E9",
  "#D55E00",
  "#8F7A00",
  "#6A3D9A",
  "#117733",
  "#999999",
];
export const CFR_COLOR = "#C44E52";
export const P50_COLOR = "#6BAED6";
export const P95_COLOR = "#08519C";
export const STEP_FAILED_COLOR = "#B2182B";
export const STEP_ERROR_COLOR = "#EF8A62";
export const LEAD_P50_COLOR = "#9E9AC8";
export const LEAD_P90_COLOR = "#54278F";
/** Background of each band's badge (the band's name is written on it too); style.css has the same. */
export const BAND_COLORS: Record<Band, string> = { elite: "#1B7837", high: "#7FBC41", medium: "#F1B628", low: "#A50026" };
/** More deployment series than colours: the smallest are drawn together as "Other". */
const MAX_SERIES = DEPLOYMENT_COLORS.length;
const TOP_STEPS_CHART = 10;
const TOP_STEPS_TABLE = 20;

const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
const day = (ms: number) => {
  const d = new Date(ms);
  return `${d.getUTCDate()} ${MONTHS[d.getUTCMonth()]} ${d.getUTCFullYear()}`;
};
const dayMonth = (ms: number) => {
  const d = new Date(ms);
  return `${d.getUTCDate()} ${MONTHS[d.getUTCMonth()]}`;
};
const stamp = (ms: number) => `${day(ms)} ${new Date(ms).toISOString().slice(11, 16)} UTC`;
const int = (n: number) => n.toLocaleString("en-US");
const plural = (n: number, noun: string) => `${int(n)} ${noun}${n === 1 ? "" : "s"}`;
const secs = (v: number) => String(Math.round(v * 100) / 100);

export interface PageOptions {
  generatedAt?: number;
}

export function renderPage(data: Dataset, options: PageOptions = {}): string {
  const t = totals(data);
  const dep = deploymentMetrics(data.deployments.values());
  const durations = durationMetrics(data.runs.values());
  const steps = failingSteps(data.steps);
  const dora = doraKeys(data.deployments.values(), data.deploymentCommits.values());
  const commitsFile = data.files.find((f) => f.stream === "deployment_commits")?.found ?? false;
  const workspaces = [
    ...new Set(
      [...data.runs.values(), ...data.deployments.values()]
        .map((r) => r.repository?.split("/")[0])
        .filter((w): w is string => !!w),
    ),
  ];
  const title = `Bitbucket Pipelines report${workspaces.length === 1 ? ` — ${workspaces[0]}` : ""}`;
  const css = readFileSync(new URL("./style.css", import.meta.url), "utf8");
  const missing = data.files.filter((f) => !f.found).map((f) => `${f.stream}.jsonl`);

  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="source-bitbucket-pipelines report/build.ts">
<title>${esc(title)}</title>
<style>
${css}</style>
</head>
<body>
${header(title, t, dep, data, options.generatedAt ?? Date.now())}
<main>
${missing.length ? `<p class="empty" id="missing-files">Not in the folder (those parts of the report are empty): ${missing.map((m) => `<code>${esc(m)}</code>`).join(", ")}.</p>` : ""}
${doraSection(dora, commitsFile)}
${deploymentsSection(dep)}
${cfrSection(dep)}
${durationsSection(durations)}
${stepsSection(steps, data.steps.size)}
</main>
${footer(data)}
</body>
</html>
`;
}

// ---------------------------------------------------------------------------------------------

function resultClass(name: string): string {
  if (name === "SUCCESSFUL") return "ok";
  if (name === "FAILED" || name === "ERROR") return "bad";
  if (name === "STOPPED" || name === "EXPIRED") return "warn";
  return "neutral";
}

function header(title: string, t: Totals, dep: DeploymentMetrics, data: Dataset, generatedAt: number): string {
  const range =
    t.from !== null && t.to !== null
      ? `<span id="time-range" data-from="${new Date(t.from).toISOString()}" data-to="${new Date(t.to).toISOString()}">${day(t.from)} – ${day(t.to)}</span>`
      : `<span id="time-range">no dated records</span>`;
  const bySource = [...dep.bySource]
    .sort((a, b) => b[1] - a[1])
    .map(
      ([s, n]) => `${int(n)} ${s === "bitbucket_deployments" ? "from Bitbucket" : s === "rule" ? "inferred by rules" : esc(s)}`,
    )
    .join(", ");
  const chips = t.runsByResult
    .map(([name, n]) => `<li class="${resultClass(name)}" data-result="${esc(name)}"><b>${int(n)}</b> ${esc(name)}</li>`)
    .join("");
  const cfr = dep.overall.cfr;
  return `<header>
<h1>${esc(title)}</h1>
<p class="meta">Time range (UTC): ${range} · from <code>${esc(basename(data.folder) || data.folder)}</code> · generated ${esc(stamp(generatedAt))}</p>
<dl class="cards">
<div class="card"><dt>Pipeline runs</dt><dd data-total="runs">${int(t.runs)}<span class="sub">${int(t.completedRuns)} completed</span></dd></div>
<div class="card"><dt>Deployments</dt><dd data-total="deployments">${int(t.deployments)}<span class="sub">${bySource || "none"}</span></dd></div>
<div class="card"><dt>Change failure rate, all environments</dt><dd data-total="cfr" data-value="${cfr ?? ""}">${cfr === null ? "—" : fmtPercent(cfr)}<span class="sub">${int(dep.overall.failed)} of ${int(dep.overall.completed)} finished deployments</span></dd></div>
<div class="card"><dt>Repositories</dt><dd data-total="repositories">${int(t.repositories)}<span class="sub">${int(t.repositoriesWithRuns)} with runs</span></dd></div>
<div class="card"><dt>Steps</dt><dd data-total="steps">${int(t.steps)}<span class="sub">${data.files.find((f) => f.stream === "environments")?.found ? `${int(t.environments)} environments` : "no environments file"}</span></dd></div>
</dl>
<h2 class="minor">Runs by result</h2>
<ul class="chips" id="runs-by-result">${chips || "<li>no runs</li>"}</ul>
</header>`;
}

// ---------------------------------------------------------------------------------------------

function weekCategories(dep: DeploymentMetrics): Category[] {
  return dep.weeks.map((w) => ({
    key: w.key,
    label: [`W${String(w.week).padStart(2, "0")}`, dayMonth(w.monday), String(w.year)],
    name: `${w.key} (week of ${day(w.monday)})`,
  }));
}

/** Chart series for the deployment series; past MAX_SERIES the smallest share one "Other" series. */
function deploymentSeries(dep: DeploymentMetrics): { series: ChartSeries[]; seriesOf: (key: string) => string } {
  const bySize = [...dep.series].sort((a, b) => b.total - a.total);
  const kept = new Set((dep.series.length > MAX_SERIES ? bySize.slice(0, MAX_SERIES - 1) : bySize).map((s) => s.key));
  const series: ChartSeries[] = dep.series
    .filter((s) => kept.has(s.key))
    .map((s, i) => ({ key: s.key, label: s.label, color: DEPLOYMENT_COLORS[i] ?? "#999999", hatched: s.inferred }));
  if (kept.size < dep.series.length)
    series.push({ key: "other", label: "Other environments", color: DEPLOYMENT_COLORS[MAX_SERIES - 1] ?? "#999999" });
  return { series, seriesOf: (key) => (kept.has(key) ? key : "other") };
}

function deploymentsSection(dep: DeploymentMetrics): string {
  const head = `<section id="deployments" aria-labelledby="deployments-h">
<h2 id="deployments-h">Deployments per week, by environment</h2>
<p class="lede">Each bar is one ISO week (Monday–Sunday, UTC) of the deployments' <code>started_on</code>, stacked by environment. The source is in each label: <em>Bitbucket</em> for Bitbucket's own deployments, <em>rule …</em> (hatched) for runs a deployment rule counted as deployments.</p>`;
  if (dep.total === 0) return `${head}<p class="empty">No deployments.</p></section>`;
  const { series, seriesOf } = deploymentSeries(dep);
  const value = (i: number, key: string): number => {
    const w = dep.weeks[i];
    if (!w) return 0;
    let n = 0;
    for (const [k, c] of w.counts) if (seriesOf(k) === key) n += c;
    return n;
  };
  const chart = columnChart({
    id: "chart-deployments",
    title: "Deployments per week, by environment",
    desc: `${dep.total} deployments over ${dep.weeks.length} weeks, stacked by environment and source.`,
    categories: weekCategories(dep),
    series,
    value,
    xLabel: "ISO week (Monday, UTC)",
    yLabel: "Deployments",
  });
  const notes: string[] = [];
  if (dep.undated) notes.push(`${int(dep.undated)} deployment(s) without a start time are not in any week.`);
  if (dep.weeksDropped)
    notes.push(
      `Only the last ${dep.weeks.length} weeks are shown (${int(dep.deploymentsDropped)} earlier deployments left out).`,
    );
  const rows = dep.weeks
    .map((w) => {
      const cells = dep.series
        .map((s) => `<td class="num" data-week="${w.key}" data-series="${esc(s.label)}">${w.counts.get(s.key) ?? 0}</td>`)
        .join("");
      return `<tr data-week="${w.key}"><th scope="row">${w.key} <span class="secs">${dayMonth(w.monday)}</span></th>${cells}<td class="num" data-week="${w.key}" data-series="total">${w.total}</td></tr>`;
    })
    .join("\n");
  const table = `<details><summary>Deployments per week as a table</summary>
<table id="deployments-table"><thead><tr><th scope="col">Week</th>${dep.series.map((s) => `<th scope="col" class="num">${esc(s.label)}</th>`).join("")}<th scope="col" class="num">Total</th></tr></thead>
<tbody>
${rows}
</tbody></table></details>`;
  return `${head}${chart}${notes.map((n) => `<p class="lede">${esc(n)}</p>`).join("")}${table}</section>`;
}

function cfrSection(dep: DeploymentMetrics): string {
  const head = `<section id="cfr" aria-labelledby="cfr-h">
<h2 id="cfr-h">Change failure rate per week</h2>
<p class="lede">Deployments whose status is FAILED or ERROR, over all finished deployments (SUCCESSFUL, FAILED, ERROR, STOPPED), by ISO week of <code>started_on</code>, all environments and both sources. Weeks with no finished deployment have no bar.</p>`;
  const o = dep.overall;
  const overall = `<p class="overall">Overall: <strong id="cfr-overall" data-value="${o.cfr ?? ""}" data-failed="${o.failed}" data-completed="${o.completed}">${o.cfr === null ? "—" : fmtPercent(o.cfr)}</strong> (${int(o.failed)} failed of ${int(o.completed)} finished deployments)</p>`;
  if (dep.weeks.length === 0) return `${head}${overall}<p class="empty">No dated deployments.</p></section>`;
  const maxRate = Math.max(0, ...dep.weeks.map((w) => w.cfr ?? 0), o.cfr ?? 0);
  const chart = columnChart({
    id: "chart-cfr",
    title: "Change failure rate per week",
    desc: `Share of finished deployments that failed, per week; overall ${o.cfr === null ? "n/a" : fmtPercent(o.cfr)}.`,
    categories: weekCategories(dep),
    series: [{ key: "cfr", label: "Change failure rate of the week", color: CFR_COLOR }],
    value: (i) => dep.weeks[i]?.cfr ?? null,
    barLabel: (i) => {
      const w = dep.weeks[i];
      if (!w || w.completed === 0) return "–";
      return `${w.failed}/${w.completed}`;
    },
    valueLabel: (v) => fmtPercent(v),
    ticks: () => {
      const top = Math.min(1, Math.max(0.1, maxRate));
      return niceTicks(top, 5).filter((v) => v <= 1 + 1e-9);
    },
    tickLabel: (v) => fmtPercent(v, 0),
    reference: o.cfr === null ? undefined : { value: o.cfr, label: `overall ${fmtPercent(o.cfr)}` },
    xLabel: "ISO week (Monday, UTC) · label above bar: failed / finished",
    yLabel: "Failed share",
    height: 320,
  });
  const weekRows = dep.weeks
    .map(
      (w) =>
        `<tr data-week="${w.key}"><th scope="row">${w.key}</th><td class="num">${w.failed}</td><td class="num">${w.completed}</td><td class="num" data-cfr="${w.cfr ?? ""}">${w.cfr === null ? "—" : fmtPercent(w.cfr)}</td></tr>`,
    )
    .join("\n");
  const seriesRows = dep.bySeries
    .map(
      (s) =>
        `<tr data-series="${esc(s.series.label)}"><th scope="row">${esc(s.series.label)}</th><td class="num">${s.failed}</td><td class="num">${s.completed}</td><td class="num" data-cfr="${s.cfr ?? ""}">${s.cfr === null ? "—" : fmtPercent(s.cfr)}</td></tr>`,
    )
    .join("\n");
  const cols = `<th scope="col" class="num">Failed</th><th scope="col" class="num">Finished</th><th scope="col" class="num">CFR</th>`;
  return `${head}${overall}${chart}
<div class="two">
<div><h3>By environment</h3><table id="cfr-by-environment"><thead><tr><th scope="col">Environment (source)</th>${cols}</tr></thead><tbody>
${seriesRows}
</tbody></table></div>
<div><h3>By week</h3><details><summary>Change failure rate per week as a table</summary><table id="cfr-table"><thead><tr><th scope="col">Week</th>${cols}</tr></thead><tbody>
${weekRows}
</tbody></table></details></div>
</div></section>`;
}

function durationsSection(rows: RepoDurations[]): string {
  const head = `<section id="durations" aria-labelledby="durations-h">
<h2 id="durations-h">Run duration per repository (p50 / p95)</h2>
<p class="lede">Median (p50) and 95th percentile (p95) of <code>duration_in_seconds</code> of completed runs (any result), slowest p95 first. Percentiles interpolate linearly between the closest ranks.</p>`;
  if (rows.length === 0) return `${head}<p class="empty">No completed runs with a duration.</p></section>`;
  const chart = barChart({
    id: "chart-durations",
    title: "Run duration per repository, p50 and p95",
    desc: rows.map((r) => `${r.repository}: p50 ${fmtDuration(r.p50)}, p95 ${fmtDuration(r.p95)}`).join("; "),
    rows: rows.map((r) => ({ label: r.repository })),
    series: [
      { key: "p50", label: "p50 (median)", color: P50_COLOR },
      { key: "p95", label: "p95", color: P95_COLOR },
    ],
    value: (i, key) => {
      const r = rows[i];
      return r ? (key === "p50" ? r.p50 : r.p95) : 0;
    },
    mode: "grouped",
    xLabel: "Run duration",
    ticks: (max) => durationTicks(max),
    tickLabel: fmtDurationTick,
    valueLabel: fmtDuration,
  });
  const cell = (v: number) =>
    `<td class="num" data-seconds="${secs(v)}">${fmtDuration(v)}<span class="secs">${secs(v)} s</span></td>`;
  const body = rows
    .map(
      (r) =>
        `<tr data-repository="${esc(r.repository)}"><th scope="row">${esc(r.repository)}</th><td class="num">${r.runs}</td>${cell(r.p50)}${cell(r.p95)}${cell(r.max)}</tr>`,
    )
    .join("\n");
  const table = `<table id="durations-table"><thead><tr><th scope="col">Repository</th><th scope="col" class="num">Completed runs</th><th scope="col" class="num">p50</th><th scope="col" class="num">p95</th><th scope="col" class="num">Max</th></tr></thead><tbody>
${body}
</tbody></table>`;
  return `${head}${chart}${table}</section>`;
}

function stepsSection(rows: FailingStep[], stepCount: number): string {
  const head = `<section id="failing-steps" aria-labelledby="steps-h">
<h2 id="steps-h">Failing steps</h2>
<p class="lede">Steps (by name, per repository) with the most FAILED or ERROR results. The rate is over the step's completed executions that ran (NOT_RUN left out).</p>`;
  if (stepCount === 0) return `${head}<p class="empty">No pipeline steps.</p></section>`;
  if (rows.length === 0) return `${head}<p class="empty">No step failed.</p></section>`;
  const top = rows.slice(0, TOP_STEPS_CHART);
  const chart = barChart({
    id: "chart-steps",
    title: `Top ${top.length} failing steps`,
    desc: top.map((r) => `${r.name} in ${r.repository}: ${r.failures} failures`).join("; "),
    rows: top.map((r) => ({ label: r.name, sublabel: r.repository })),
    series: [
      { key: "FAILED", label: "FAILED", color: STEP_FAILED_COLOR },
      { key: "ERROR", label: "ERROR", color: STEP_ERROR_COLOR },
    ],
    value: (i, key) => {
      const r = top[i];
      return r ? (key === "FAILED" ? r.failed : r.error) : 0;
    },
    mode: "stacked",
    xLabel: "Failed step executions",
    ticks: (max) => niceTicks(max, 6, true),
    tickLabel: String,
    valueLabel: (v) => String(v),
  });
  const body = rows
    .slice(0, TOP_STEPS_TABLE)
    .map(
      (r, i) =>
        `<tr data-step="${esc(r.name)}" data-repository="${esc(r.repository)}" data-failures="${r.failures}"><td class="num">${i + 1}</td><th scope="row">${esc(r.name)}</th><td>${esc(r.repository)}</td><td class="num">${r.failed}</td><td class="num">${r.error}</td><td class="num">${r.failures}</td><td class="num">${r.executions}</td><td class="num">${fmtPercent(r.rate)}</td></tr>`,
    )
    .join("\n");
  const more =
    rows.length > TOP_STEPS_TABLE ? `<p class="lede">${rows.length - TOP_STEPS_TABLE} more failing steps not listed.</p>` : "";
  const table = `<table id="steps-table"><thead><tr><th scope="col" class="num">#</th><th scope="col">Step</th><th scope="col">Repository</th><th scope="col" class="num">FAILED</th><th scope="col" class="num">ERROR</th><th scope="col" class="num">Failures</th><th scope="col" class="num">Executions</th><th scope="col" class="num">Failure rate</th></tr></thead><tbody>
${body}
</tbody></table>`;
  return `${head}${chart}${table}${more}</section>`;
}

// ---------------------------------------------------------------------------------------------
// The four DORA keys

const KEYS = {
  frequency: {
    name: "Deployment frequency",
    definition:
      "How often changes reach the environment: successful deployments per day, over the days from the first to the last day a deployment finished.",
    bands: [
      "more than once a day (on demand)",
      "once a week to once a day",
      "once a month to once a week",
      "less than once a month",
    ],
  },
  leadTime: {
    name: "Lead time for changes",
    definition:
      "How long a commit takes to reach the environment: from the commit's date to the completion of the successful deployment that shipped it (deployment_commits); median and p90 over the commits.",
    bands: ["under a day", "a day to a week", "a week to a month", "over a month"],
  },
  failureRate: {
    name: "Change failure rate",
    definition:
      "How often a deployment fails: FAILED or ERROR deployments over finished ones (SUCCESSFUL, FAILED, ERROR, STOPPED).",
    bands: ["5% or less", "over 5%, up to 10%", "over 10%, up to 15%", "over 15%"],
  },
  restore: {
    name: "Time to restore",
    definition:
      "How long a failed production deployment stays failed: from its completion to the completion of the next successful deployment to the same environment of the same repository; median over the restored failures.",
    bands: ["under an hour", "an hour to a day", "a day to a week", "over a week"],
  },
} as const;
type KeyName = keyof typeof KEYS;
const KEY_NAMES = Object.keys(KEYS) as KeyName[];

const bandBadge = (band: Band | null): string =>
  band === null
    ? `<span class="band band-none" data-band="">no band</span>`
    : `<span class="band band-${band}" data-band="${band}">${band[0]?.toUpperCase()}${band.slice(1)}</span>`;

/** "1.4 a day" from one a day up, else "3 a week". */
const fmtRate = (perDay: number): string =>
  perDay >= 1 ? `${Math.round(perDay * 100) / 100} a day` : `${Math.round(perDay * 7 * 100) / 100} a week`;

const span = (seconds: number | null): string => (seconds === null ? "—" : fmtSpan(seconds));
const seconds = (v: number | null): string => (v === null ? "" : secs(v));

/** Value and the line under it for one key of one set of figures. */
function keyText(key: KeyName, f: DoraFigures, type: string, commitsFile: boolean): { value: string; sub: string } {
  switch (key) {
    case "frequency":
      return {
        value: f.perDay === null ? "—" : fmtRate(f.perDay),
        sub: `${int(f.deployments)} successful in ${int(f.days)} days`,
      };
    case "leadTime":
      if (f.commits === 0) return { value: "—", sub: commitsFile ? "no commits deployed" : "needs deployment_commits.jsonl" };
      return { value: span(f.leadMedian), sub: `p90 ${span(f.leadP90)} · ${plural(f.commits, "commit")}` };
    case "failureRate":
      return { value: f.cfr === null ? "—" : fmtPercent(f.cfr), sub: `${int(f.failed)} of ${int(f.finished)} finished` };
    case "restore":
      if (type !== "production") return { value: "—", sub: "production environments only" };
      return { value: span(f.restoreMedian), sub: `${int(f.restored)} of ${int(f.failures)} failures restored` };
  }
}

const keyData = (key: KeyName, f: DoraFigures): string => {
  switch (key) {
    case "frequency":
      return `data-value="${f.perDay ?? ""}"`;
    case "leadTime":
      return `data-median="${seconds(f.leadMedian)}" data-p90="${seconds(f.leadP90)}"`;
    case "failureRate":
      return `data-value="${f.cfr ?? ""}"`;
    case "restore":
      return `data-median="${seconds(f.restoreMedian)}"`;
  }
};

function doraCards(t: DoraType, commitsFile: boolean): string {
  const cards = KEY_NAMES.map((key) => {
    const { value, sub } = keyText(key, t.figures, t.type, commitsFile);
    return `<div class="card dora-card" data-key="${key}" data-type="${esc(t.type)}" ${keyData(key, t.figures)}><dt>${KEYS[key].name}</dt><dd><span class="value">${esc(value)}</span> ${bandBadge(t.bands[key])}<span class="sub">${esc(sub)}</span></dd><dd class="def">${esc(KEYS[key].definition)}</dd></div>`;
  });
  return `<dl class="cards dora-cards" id="dora-cards">${cards.join("\n")}</dl>`;
}

function doraByType(types: DoraType[], commitsFile: boolean): string {
  const rows = types.map((t) => {
    const cells = KEY_NAMES.map((key) => {
      const { value, sub } = keyText(key, t.figures, t.type, commitsFile);
      return `<td data-key="${key}" ${keyData(key, t.figures)}>${esc(value)} ${bandBadge(t.bands[key])}<span class="secs">${esc(sub)}</span></td>`;
    });
    return `<tr data-type="${esc(t.type)}"><th scope="row">${esc(t.type)}</th>${cells.join("")}</tr>`;
  });
  const cols = KEY_NAMES.map((key) => `<th scope="col">${KEYS[key].name}</th>`).join("");
  return `<table id="dora-by-type"><thead><tr><th scope="col">Environment type</th>${cols}</tr></thead><tbody>
${rows.join("\n")}
</tbody></table>`;
}

function doraWeeks(t: DoraType, open: boolean): string {
  const rows = t.weeks.map((w) => {
    const f = w.figures;
    const restore = t.type === "production" ? `${f.restored}/${f.failures}` : "—";
    return `<tr data-dora-week="${w.key}"><th scope="row">${w.key} <span class="secs">${dayMonth(w.monday)}</span></th><td class="num" data-key="frequency">${f.deployments}</td><td class="num" data-key="leadTime" ${keyData("leadTime", f)}>${span(f.leadMedian)}</td><td class="num">${span(f.leadP90)}</td><td class="num">${f.failed}/${f.finished}</td><td class="num" data-key="failureRate" ${keyData("failureRate", f)}>${f.cfr === null ? "—" : fmtPercent(f.cfr)}</td><td class="num">${restore}</td><td class="num" data-key="restore" ${keyData("restore", f)}>${span(f.restoreMedian)}</td></tr>`;
  });
  return `<details${open ? " open" : ""}><summary>${esc(t.type)}: the four keys per week</summary>
<table class="dora-weeks" data-type="${esc(t.type)}"><thead><tr><th scope="col">Week</th><th scope="col" class="num">Successful deployments</th><th scope="col" class="num">Lead time median</th><th scope="col" class="num">Lead time p90</th><th scope="col" class="num">Failed / finished</th><th scope="col" class="num">Change failure rate</th><th scope="col" class="num">Restored / failed</th><th scope="col" class="num">Time to restore median</th></tr></thead><tbody>
${rows.join("\n")}
</tbody></table></details>`;
}

function leadTimeChart(t: DoraType): string {
  const weeks = t.weeks.filter((w) => w.figures.commits > 0);
  if (weeks.length === 0) return "";
  return barChart({
    id: "chart-lead-time",
    title: `Lead time for changes per week (${t.type}), median and p90`,
    desc: weeks.map((w) => `${w.key}: median ${span(w.figures.leadMedian)}, p90 ${span(w.figures.leadP90)}`).join("; "),
    rows: weeks.map((w) => ({ label: w.key, sublabel: plural(w.figures.commits, "commit") })),
    series: [
      { key: "p50", label: "median", color: LEAD_P50_COLOR },
      { key: "p90", label: "p90", color: LEAD_P90_COLOR },
    ],
    value: (i, key) => {
      const f = weeks[i]?.figures;
      return (key === "p50" ? f?.leadMedian : f?.leadP90) ?? 0;
    },
    mode: "grouped",
    xLabel: "Lead time (commit to deployment)",
    ticks: (max) => durationTicks(max),
    tickLabel: fmtDurationTick,
    valueLabel: fmtSpan,
  });
}

function doraSection(keys: DoraKeys, commitsFile: boolean): string {
  const period = keys.period
    ? `${day(keys.period.from)} – ${day(keys.period.to)} (<span id="dora-days">${keys.period.days}</span> days)`
    : "no finished deployment";
  const head = `<section id="dora" aria-labelledby="dora-h">
<h2 id="dora-h">The four DORA keys</h2>
<p class="lede">Per environment type (<code>environment_type</code>), from finished deployments of both sources, each counted in the ISO week (UTC) it finished; period ${period}. Each key's band follows the <strong id="dora-edition">${esc(BAND_EDITION)}</strong> (thresholds at the end of this section); lead time and time to restore are banded by their median.</p>`;
  if (keys.types.length === 0) return `${head}<p class="empty">No finished deployments.</p></section>`;
  const main = keys.types.find((t) => t.type === "production") ?? (keys.types[0] as DoraType);
  const notes: string[] = [];
  if (!commitsFile)
    notes.push(
      "No deployment_commits.jsonl in the folder (a connector version before it, or the stream not synced): lead time is not shown.",
    );
  else
    notes.push(
      "The first deployment to an environment the connector saw is counted with its deployed commit alone, so its lead time understates its change set.",
    );
  const bandRows = KEY_NAMES.map(
    (key) =>
      `<tr data-key="${key}"><th scope="row">${KEYS[key].name}</th>${KEYS[key].bands.map((b) => `<td>${esc(b)}</td>`).join("")}</tr>`,
  ).join("\n");
  const bandTable = `<h3>Bands (${esc(BAND_EDITION)})</h3>
<table id="dora-bands"><thead><tr><th scope="col">Key</th>${BANDS.map((b) => `<th scope="col">${bandBadge(b)}</th>`).join("")}</tr></thead><tbody>
${bandRows}
</tbody></table>
<p class="lede">The 2023 report gives change failure rates of 5%, 10%, 15% and 64% for its four clusters: read here as upper bounds. Where its low cluster overlaps the medium one (deployment frequency, lead time), low starts where medium ends. A month is 30 days.</p>`;
  return `${head}
<h3>Environment type <code>${esc(main.type)}</code></h3>
${doraCards(main, commitsFile)}
<h3>By environment type</h3>
${doraByType(keys.types, commitsFile)}
${notes.map((n) => `<p class="lede">${esc(n)}</p>`).join("")}
<h3>Over time</h3>
${leadTimeChart(main)}
${keys.types.map((t) => doraWeeks(t, t === main)).join("\n")}
${bandTable}
</section>`;
}

// ---------------------------------------------------------------------------------------------

function footer(data: Dataset): string {
  const items = data.files.map((f) => {
    if (!f.found) return `<li><code>${f.stream}.jsonl</code>: not found</li>`;
    const extra = [
      f.duplicates ? `${int(f.duplicates)} repeated (latest kept)` : "",
      f.skipped ? `${int(f.skipped)} unreadable lines skipped` : "",
    ].filter(Boolean);
    return `<li data-file="${f.stream}"><code>${f.stream}.jsonl</code>: ${int(f.records)} records${extra.length ? `, ${extra.join(", ")}` : ""}</li>`;
  });
  return `<footer>
<p>Inputs (records are counted once per primary key, the last line winning):</p>
<ul>${items.join("")}</ul>
<p>All times are UTC. Weeks are ISO-8601 weeks starting on Monday. This file is self-contained: it loads nothing when opened.</p>
</footer>`;
}
