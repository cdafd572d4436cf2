// report/build.ts: builds a report from fixture JSONL files, checks the numbers in the HTML, then
// renders the page in headless Chromium and checks, on the decoded screenshot, that each chart
// is drawn (its colours are on screen, in proportion to the data, in page order).

import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { accessSync, constants, copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { delimiter, join } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { inflateSync } from "node:zlib";
import { isoWeek, percentile } from "../../report/metrics.js";
import {
  BAND_COLORS,
  CFR_COLOR,
  DEPLOYMENT_COLORS,
  LEAD_P50_COLOR,
  LEAD_P90_COLOR,
  P50_COLOR,
  P95_COLOR,
  STEP_ERROR_COLOR,
  STEP_FAILED_COLOR,
} from "../../report/page.js";

const root = fileURLToPath(new URL("../..", import.meta.url));
const run = promisify(execFile);

// ---------------------------------------------------------------------------------------------
// Fixture: 3 repositories, 16 runs, 27 steps, 16 deployment lines (15 deployments) over 4 weeks.

type Json = Record<string, unknown>;
const REPOS = {
  api: { uuid: "{00000000-0000-0000-0000-0000000000a1}", full_name: "acme/api" },
  web: { uuid: "{00000000-0000-0000-0000-0000000000b2}", full_name: "acme/web" },
  ops: { uuid: "{00000000-0000-0000-0000-0000000000c3}", full_name: "acme/ops" },
};
type RepoKey = keyof typeof REPOS;

function pipeline(repo: RepoKey, n: number, result: string, seconds: number, created: string): Json {
  const start = Date.parse(created);
  const done = result !== "RUNNING";
  return {
    type: "pipeline",
    uuid: `{run-${repo}-${n}}`,
    build_number: n,
    state: done ? { name: "COMPLETED", result: { name: result } } : { name: "IN_PROGRESS", stage: { name: "RUNNING" } },
    created_on: created,
    completed_on: done ? new Date(start + seconds * 1000).toISOString() : null,
    duration_in_seconds: seconds,
    repository_uuid: REPOS[repo].uuid,
    repository_full_name: REPOS[repo].full_name,
  };
}

let stepNo = 0;
function step(repo: RepoKey, name: string, result: string, withName = true): Json {
  stepNo++;
  return {
    type: "pipeline_step",
    uuid: `{step-${stepNo}}`,
    name,
    state: { name: "COMPLETED", result: { name: result } },
    pipeline_uuid: `{run-${repo}-1}`,
    repository_uuid: REPOS[repo].uuid,
    // steps of acme/web carry only the repository uuid: the report takes the name from repositories
    ...(withName ? { repository_full_name: REPOS[repo].full_name } : {}),
  };
}

function deployment(id: string, env: string, status: string, started: string | null, source = "bitbucket_deployments"): Json {
  const rule = source === "rule" ? "deploy-prod" : null;
  return {
    id: source === "rule" ? `rule:deploy-prod:${id}` : id,
    source,
    rule,
    repository_uuid: REPOS.api.uuid,
    repository_full_name: REPOS.api.full_name,
    environment: env,
    environment_type: env.toLowerCase(),
    status,
    started_on: started,
    completed_on:
      started && status !== "IN_PROGRESS" && status !== "PENDING" ? new Date(Date.parse(started) + 300_000).toISOString() : null,
    pipeline_uuid: `{run-api-1}`,
    build_number: 1,
    commit_hash: "abc",
    ref_name: "main",
    duration_seconds: 300,
  };
}

const lines = (records: unknown[]): string =>
  records.map((r) => (typeof r === "string" ? r : JSON.stringify(r))).join("\n") + "\n";

function writeFixture(dir: string): void {
  writeFileSync(join(dir, "repositories.jsonl"), lines(Object.values(REPOS).map((r) => ({ type: "repository", ...r }))));
  const api = [100, 200, 300, 400].map((s, i) =>
    pipeline("api", i + 1, ["SUCCESSFUL", "SUCCESSFUL", "FAILED", "ERROR"][i] ?? "", s, `2026-03-0${3 + i}T10:00:00.000000Z`),
  );
  const web = [60, 120, 180, 240, 300, 360, 420, 480, 540, 600].map((s, i) =>
    pipeline("web", i + 1, i === 3 ? "STOPPED" : i === 6 ? "FAILED" : "SUCCESSFUL", s, `2026-03-1${i}T08:00:00.123456789Z`),
  );
  writeFileSync(
    join(dir, "pipelines.jsonl"),
    lines([
      // run 5 of acme/api first in progress, then (a later sync) completed: counted once, completed
      pipeline("api", 5, "RUNNING", 30, "2026-03-07T10:00:00Z"),
      ...api,
      pipeline("api", 6, "RUNNING", 50, "2026-03-08T10:00:00Z"),
      "this line is not JSON",
      ...web.slice(0, 9),
      // an Airbyte RECORD message is read too
      { type: "RECORD", record: { stream: "pipelines", data: web[9], emitted_at: 0 } },
      pipeline("api", 5, "SUCCESSFUL", 500, "2026-03-07T10:00:00Z"),
    ]),
  );
  writeFileSync(
    join(dir, "pipeline_steps.jsonl"),
    lines([
      ...["FAILED", "FAILED", "FAILED", "ERROR", "SUCCESSFUL", "SUCCESSFUL"].map((r) => step("api", "Test", r)),
      ...Array.from({ length: 5 }, () => step("api", "Lint", "SUCCESSFUL")),
      ...["FAILED", "ERROR", ...Array<string>(8).fill("SUCCESSFUL")].map((r) => step("web", "Build", r, false)),
      step("web", "Deploy <prod>", "ERROR", false),
      step("web", "Deploy <prod>", "NOT_RUN", false),
      ...Array.from({ length: 4 }, () => step("api", "Lint", "SUCCESSFUL")),
    ]),
  );
  // environments.jsonl is left out on purpose: missing files are fine.
  writeFileSync(
    join(dir, "deployments.jsonl"),
    lines([
      // 2026-W10 (2 Mar): Production 2 ok; Staging 2 ok + 1 FAILED
      deployment("d1", "Production", "SUCCESSFUL", "2026-03-02T08:00:00Z"),
      deployment("d2", "Production", "SUCCESSFUL", "2026-03-04T08:00:00Z"),
      deployment("d3", "Staging", "SUCCESSFUL", "2026-03-03T08:00:00Z"),
      deployment("d4", "Staging", "FAILED", "2026-03-05T08:00:00Z"),
      deployment("d5", "Staging", "SUCCESSFUL", "2026-03-08T23:59:00Z"),
      // 2026-W11 (9 Mar): Production FAILED (seen in progress first), STOPPED, 2 ok; rule 1 ok + 1 ERROR
      deployment("d6", "Production", "IN_PROGRESS", "2026-03-09T00:01:00Z"),
      deployment("d7", "Production", "STOPPED", "2026-03-10T08:00:00Z"),
      deployment("d8", "Production", "SUCCESSFUL", "2026-03-11T08:00:00Z"),
      deployment("d9", "Production", "SUCCESSFUL", "2026-03-12T08:00:00Z"),
      deployment("r1", "production", "SUCCESSFUL", "2026-03-13T08:00:00Z", "rule"),
      deployment("r2", "production", "ERROR", "2026-03-15T20:00:00Z", "rule"),
      deployment("d6", "Production", "FAILED", "2026-03-09T00:01:00Z"),
      // 2026-W12: none. 2026-W13 (23 Mar): Staging 1 ok + 1 in progress, Production 1 ok
      deployment("d10", "Staging", "SUCCESSFUL", "2026-03-23T08:00:00Z"),
      deployment("d11", "Staging", "IN_PROGRESS", "2026-03-26T12:00:00Z"),
      deployment("d12", "Production", "SUCCESSFUL", "2026-03-25T08:00:00Z"),
      // not started yet: counted, in no week, not finished
      deployment("d13", "Production", "PENDING", null),
    ]),
  );
}

// ---------------------------------------------------------------------------------------------
// HTML helpers

const escRe = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

/** Text of the first element whose opening tag contains `attrs` (exactly as written). */
function textOf(html: string, attrs: string): string {
  const m = new RegExp(`<(\\w+)[^>]*${escRe(attrs)}[^>]*>([\\s\\S]*?)</\\1>`).exec(html);
  assert.ok(m, `no element with ${attrs}`);
  return (m[2] ?? "")
    .replace(/<[^>]+>/g, " ")
    .replace(/\s+/g, " ")
    .trim();
}

/** Value of attribute `name` on the first element whose opening tag contains `attrs`. */
function attrOf(html: string, attrs: string, name: string): string {
  const m = new RegExp(`<\\w+[^>]*${escRe(attrs)}[^>]*>`).exec(html);
  assert.ok(m, `no element with ${attrs}`);
  const a = new RegExp(`\\s${name}="([^"]*)"`).exec(m[0]);
  assert.ok(a, `no ${name} on ${m[0]}`);
  return a[1] ?? "";
}

/** The page from the element with `attrs` on (to look in one table). */
function after(html: string, attrs: string): string {
  const i = html.indexOf(attrs);
  assert.ok(i >= 0, `no ${attrs}`);
  return html.slice(i);
}

const weekCell = (html: string, week: string, series: string) =>
  Number(textOf(html, `data-week="${week}" data-series="${series}"`));

// ---------------------------------------------------------------------------------------------
// PNG decoding (8-bit RGB/RGBA, not interlaced: what Chromium writes)

interface Image {
  width: number;
  height: number;
  channels: number;
  pixels: Buffer;
}

function decodePng(png: Buffer): Image {
  assert.equal(png.subarray(0, 8).toString("hex"), "89504e470d0a1a0a", "not a PNG");
  let width = 0;
  let height = 0;
  let channels = 0;
  const idat: Buffer[] = [];
  for (let off = 8; off < png.length; ) {
    const len = png.readUInt32BE(off);
    const type = png.toString("ascii", off + 4, off + 8);
    const data = png.subarray(off + 8, off + 8 + len);
    if (type === "IHDR") {
      width = data.readUInt32BE(0);
      height = data.readUInt32BE(4);
      const [depth, colorType, , , interlace] = [data[8], data[9], data[10], data[11], data[12]];
      assert.equal(depth, 8, "bit depth");
      assert.equal(interlace, 0, "interlaced PNG");
      channels = colorType === 6 ? 4 : colorType === 2 ? 3 : 0;
      assert.ok(channels > 0, `colour type ${String(colorType)}`);
    } else if (type === "IDAT") idat.push(data);
    off += 12 + len;
  }
  const raw = inflateSync(Buffer.concat(idat));
  const stride = width * channels;
  const pixels = Buffer.alloc(stride * height);
  for (let y = 0; y < height; y++) {
    const filter = raw[y * (stride + 1)];
    const src = y * (stride + 1) + 1;
    const row = y * stride;
    for (let x = 0; x < stride; x++) {
      const a = x >= channels ? (pixels[row + x - channels] ?? 0) : 0;
      const b = y > 0 ? (pixels[row - stride + x] ?? 0) : 0;
      const c = x >= channels && y > 0 ? (pixels[row - stride + x - channels] ?? 0) : 0;
      let v = raw[src + x] ?? 0;
      if (filter === 1) v += a;
      else if (filter === 2) v += b;
      else if (filter === 3) v += (a + b) >> 1;
      else if (filter === 4) {
        const p = a + b - c;
        const pa = Math.abs(p - a);
        const pb = Math.abs(p - b);
        const pc = Math.abs(p - c);
        v += pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
      } else assert.equal(filter, 0, `filter ${String(filter)}`);
      pixels[row + x] = v & 255;
    }
  }
  return { width, height, channels, pixels };
}

interface ColourStats {
  count: number;
  minY: number;
  maxY: number;
}

/** Pixels of exactly each of `colours` (#rrggbb), with their vertical extent; plus non-white pixels. */
function colourStats(img: Image, colours: string[]): { stats: Map<string, ColourStats>; nonWhite: number } {
  const wanted = new Map<number, ColourStats>();
  const byHex = new Map<string, ColourStats>();
  for (const hex of colours) {
    const s = { count: 0, minY: Infinity, maxY: -Infinity };
    wanted.set(parseInt(hex.slice(1), 16), s);
    byHex.set(hex, s);
  }
  let nonWhite = 0;
  for (let y = 0; y < img.height; y++) {
    for (let x = 0; x < img.width; x++) {
      const i = (y * img.width + x) * img.channels;
      const rgb = ((img.pixels[i] ?? 0) << 16) | ((img.pixels[i + 1] ?? 0) << 8) | (img.pixels[i + 2] ?? 0);
      if (rgb !== 0xffffff) nonWhite++;
      const s = wanted.get(rgb);
      if (s) {
        s.count++;
        s.minY = Math.min(s.minY, y);
        s.maxY = Math.max(s.maxY, y);
      }
    }
  }
  return { stats: byHex, nonWhite };
}

function findChromium(): string {
  for (const name of ["chromium", "chromium-browser", "google-chrome"]) {
    for (const dir of (process.env.PATH ?? "").split(delimiter)) {
      const path = join(dir, name);
      try {
        accessSync(path, constants.X_OK);
        return path;
      } catch {
        // not here
      }
    }
  }
  assert.fail(
    "Chromium is not installed, and this test renders the report in it: .ci/run installs it (apt-get install -y chromium); on your machine run `apt-get update && apt-get install -y chromium`.",
  );
}

// ---------------------------------------------------------------------------------------------

/** Renders `html` in headless Chromium at 1280 px wide and writes a PNG of its top `height` px. */
async function screenshot(chromium: string, html: string, png: string, name: string, height = 4000): Promise<void> {
  const profile = mkdtempSync(join(tmpdir(), "report-chromium-"));
  try {
    await run(
      chromium,
      [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--hide-scrollbars",
        "--force-device-scale-factor=1",
        "--force-color-profile=srgb",
        `--user-data-dir=${profile}`,
        `--screenshot=${png}`,
        `--window-size=1280,${height}`,
        `file://${html}`,
      ],
      { timeout: 25_000 },
    );
  } finally {
    rmSync(profile, { recursive: true, force: true });
  }
  assert.ok(existsSync(png), "Chromium wrote no screenshot");
  // REPORT_TEST_SCREENSHOT=/some/file.png keeps the screenshots to look at, as /some/file-<name>.png
  const keep = process.env.REPORT_TEST_SCREENSHOT;
  if (keep) copyFileSync(png, keep.replace(/(\.png)?$/, `-${name}.png`));
}

// ---------------------------------------------------------------------------------------------

test("ISO weeks and percentiles", () => {
  assert.equal(isoWeek(Date.parse("2026-03-02T00:00:00Z")).key, "2026-W10");
  assert.equal(isoWeek(Date.parse("2026-03-08T23:59:59Z")).key, "2026-W10");
  assert.equal(isoWeek(Date.parse("2026-03-09T00:00:00Z")).key, "2026-W11");
  assert.equal(isoWeek(Date.parse("2021-01-03T12:00:00Z")).key, "2020-W53"); // Sunday of the 53rd week
  assert.equal(isoWeek(Date.parse("2024-12-30T12:00:00Z")).key, "2025-W01"); // Monday, week 1 of next year
  assert.equal(isoWeek(Date.parse("2026-01-01T00:00:00Z")).key, "2026-W01");
  assert.equal(percentile([100, 200, 300, 400, 500], 0.5), 300);
  assert.equal(percentile([100, 200, 300, 400, 500], 0.95), 480);
  assert.equal(percentile([7], 0.95), 7);
  assert.equal(percentile([], 0.5), null);
});

test("report: numbers in the HTML, and the charts render in Chromium", async (t) => {
  const chromium = findChromium(); // fails (not skips) without Chromium
  const dir = mkdtempSync(join(tmpdir(), "report-test-"));
  try {
    writeFixture(dir);
    const built = await run(process.execPath, ["--import", "tsx", "report/build.ts", dir], { cwd: root });
    assert.match(built.stderr, /report: 16 runs, 27 steps, 15 deployments, 3 repositories/);
    const html = readFileSync(join(dir, "report.html"), "utf8");

    // self-contained: nothing to fetch, no script
    assert.doesNotMatch(html, /<script|<link|<img|<iframe|\ssrc=|@import/i);
    assert.doesNotMatch(html, /url\((?!#)/, "CSS/SVG url() other than a fragment");
    assert.doesNotMatch(html, /href="(?!#)/, "links away from the page");

    // header totals
    assert.equal(textOf(html, 'data-total="runs"'), "16 15 completed");
    assert.equal(textOf(html, 'data-total="deployments"').split(" ")[0], "15");
    assert.equal(textOf(html, 'data-total="repositories"'), "3 2 with runs");
    assert.equal(textOf(html, 'data-total="steps"').split(" ")[0], "27");
    const results = [...html.matchAll(/<li class="\w+" data-result="(\w+)"><b>(\d+)<\/b>/g)].map((m) => `${m[1]} ${m[2]}`);
    assert.deepEqual(results, ["SUCCESSFUL 11", "FAILED 2", "ERROR 1", "STOPPED 1", "RUNNING 1"]);
    assert.equal(attrOf(html, 'id="time-range"', "data-from"), "2026-03-02T08:00:00.000Z");
    assert.equal(attrOf(html, 'id="time-range"', "data-to"), "2026-03-26T12:00:00.000Z");
    assert.match(html, /<code>environments\.jsonl<\/code>/, "the missing file is named");

    // deployments per week per environment (source in the label), gap week included
    const weeks = [...html.matchAll(/<tr data-week="([\w-]+)"><th scope="row">[\w-]+ <span/g)].map((m) => m[1]);
    assert.deepEqual(weeks, ["2026-W10", "2026-W11", "2026-W12", "2026-W13"]);
    const P = "Production (Bitbucket)";
    const S = "Staging (Bitbucket)";
    const R = "production (rule deploy-prod)";
    const expected: [string, number, number, number, number][] = [
      ["2026-W10", 2, 0, 3, 5],
      ["2026-W11", 4, 2, 0, 6],
      ["2026-W12", 0, 0, 0, 0],
      ["2026-W13", 1, 0, 2, 3],
    ];
    for (const [week, p, r, s, total] of expected) {
      assert.deepEqual(
        [weekCell(html, week, P), weekCell(html, week, R), weekCell(html, week, S), weekCell(html, week, "total")],
        [p, r, s, total],
        week,
      );
    }
    // legend order: production first, Bitbucket before rule; the rule series is hatched
    const legend = [
      ...(/<figure class="chart"><ul class="legend"[^>]*>([\s\S]*?)<\/ul>/.exec(html)?.[1] ?? "").matchAll(
        /<\/span>([^<]+)<\/li>/g,
      ),
    ].map((m) => m[1]);
    assert.deepEqual(legend, [P, R, S]);
    assert.match(html, /class="swatch hatched" style="background-color:#E69F00"/);
    assert.match(html, /deployment\(s\) without a start time/);

    // change failure rate: FAILED/ERROR over finished deployments (SUCCESSFUL, FAILED, ERROR, STOPPED)
    assert.equal(attrOf(html, 'id="cfr-overall"', "data-failed"), "3");
    assert.equal(attrOf(html, 'id="cfr-overall"', "data-completed"), "13");
    assert.equal(Number(attrOf(html, 'id="cfr-overall"', "data-value")), 3 / 13);
    assert.equal(textOf(html, 'id="cfr-overall"'), "23.1%");
    const cfrTable = after(html, 'id="cfr-table"');
    assert.equal(textOf(cfrTable, 'data-week="2026-W10"'), "2026-W10 1 5 20%");
    assert.equal(textOf(cfrTable, 'data-week="2026-W11"'), "2026-W11 2 6 33.3%", "d7 STOPPED finished, failed nothing");
    assert.equal(textOf(cfrTable, 'data-week="2026-W12"'), "2026-W12 0 0 —");
    assert.equal(textOf(cfrTable, 'data-week="2026-W13"'), "2026-W13 0 2 0%");
    const byEnv = after(html, 'id="cfr-by-environment"');
    assert.equal(textOf(byEnv, `data-series="${P}"`), `${P} 1 7 14.3%`);
    assert.equal(textOf(byEnv, `data-series="${R}"`), `${R} 1 2 50%`);
    assert.equal(textOf(byEnv, `data-series="${S}"`), `${S} 1 4 25%`);

    // the DORA keys from files without restored_after_seconds and deployment_commits: d6 (FAILED,
    // done 9 Mar 00:06) restored by d8 (11 Mar 08:05) after 201540 s; r2 (ERROR) not restored
    assert.equal(
      textOf(html, 'class="card dora-card" data-key="restore" data-type="production"'),
      `Time to restore 2.3 d Medium 1 of 2 failures restored ${DEFINITIONS.restore}`,
    );
    assert.equal(attrOf(html, 'class="card dora-card" data-key="restore" data-type="production"', "data-median"), "201540");
    assert.match(
      textOf(html, 'class="card dora-card" data-key="leadTime"'),
      /^Lead time for changes — no band needs deployment_commits\.jsonl /,
    );

    // run durations: completed runs only; api [100,200,300,400,500], web 60..600
    const repoRow = (repo: string) => textOf(after(html, 'id="durations-table"'), `data-repository="${repo}"`);
    assert.equal(repoRow("acme/web"), "acme/web 10 5m 30s 330 s 9m 33s 573 s 10m 00s 600 s");
    assert.equal(repoRow("acme/api"), "acme/api 5 5m 00s 300 s 8m 00s 480 s 8m 20s 500 s");
    assert.ok(html.indexOf('data-repository="acme/web"') < html.indexOf('data-repository="acme/api"'), "slowest p95 first");
    assert.doesNotMatch(html, /data-repository="acme\/ops"/, "no runs, no row");

    // failing steps: name × repository, FAILED + ERROR, names escaped
    const stepRows = [...html.matchAll(/<tr data-step="([^"]*)" data-repository="([^"]*)" data-failures="(\d+)">/g)].map(
      (m) => `${m[1]} @ ${m[2]}: ${m[3]}`,
    );
    assert.deepEqual(stepRows, ["Test @ acme/api: 4", "Build @ acme/web: 2", "Deploy &lt;prod&gt; @ acme/web: 1"]);
    assert.equal(textOf(html, 'data-step="Test" data-repository="acme/api"'), "1 Test acme/api 3 1 4 6 66.7%");
    assert.equal(textOf(html, 'data-step="Deploy &lt;prod&gt;"'), "3 Deploy &lt;prod&gt; acme/web 0 1 1 1 100%");
    assert.doesNotMatch(html, /<prod>/);

    // render it and look at the pixels
    const png = join(dir, "report.png");
    await screenshot(chromium, join(dir, "report.html"), png, "main");
    const img = decodePng(readFileSync(png));
    assert.equal(img.width, 1280);
    const [prod, rule, staging] = DEPLOYMENT_COLORS as [string, string, string];
    const colours = [prod, rule, staging, CFR_COLOR, P50_COLOR, P95_COLOR, STEP_FAILED_COLOR, STEP_ERROR_COLOR];
    const { stats, nonWhite } = colourStats(img, colours);
    const c = (hex: string): ColourStats => stats.get(hex) ?? assert.fail(hex);
    assert.ok(nonWhite > img.width * img.height * 0.05, `mostly blank: ${nonWhite} non-white pixels`);
    for (const hex of colours) assert.ok(c(hex).count > 300, `${hex}: only ${c(hex).count} pixels`);
    // bar areas follow the data: 7 Production vs 5 Staging deployments; p95 vs p50 sums; FAILED vs ERROR steps
    t.diagnostic(`non-white ${nonWhite}; ` + colours.map((h) => `${h} ${c(h).count}px y${c(h).minY}-${c(h).maxY}`).join(", "));
    const near = (actual: number, want: number, what: string) =>
      assert.ok(Math.abs(actual / want - 1) < 0.12, `${what}: ratio ${actual.toFixed(3)}, expected about ${want.toFixed(3)}`);
    near(c(prod).count / c(staging).count, 7 / 5, "Production / Staging pixels");
    near(c(P95_COLOR).count / c(P50_COLOR).count, (480 + 573) / (300 + 330), "p95 / p50 pixels");
    near(c(STEP_FAILED_COLOR).count / c(STEP_ERROR_COLOR).count, 4 / 3, "FAILED / ERROR step pixels");
    // the charts come in page order, each below the previous one
    const order = [c(staging), c(CFR_COLOR), c(P95_COLOR), c(STEP_FAILED_COLOR)];
    for (let i = 1; i < order.length; i++) {
      const prev = order[i - 1] as ColourStats;
      const cur = order[i] as ColourStats;
      assert.ok(
        prev.maxY < cur.minY,
        `chart ${i} (y ${cur.minY}–${cur.maxY}) overlaps chart ${i - 1} (y ${prev.minY}–${prev.maxY})`,
      );
    }
    // and the last chart is inside the screenshot, with room to spare
    assert.ok(c(STEP_FAILED_COLOR).maxY < img.height - 50, "failing-steps chart cut off");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

// The one-line definitions the page gives each key (report/page.ts), to find them on the page.
const DEFINITIONS = {
  frequency:
    "How often changes reach the environment: successful deployments per day, over the days from the first to the last day a deployment finished.",
  leadTime:
    "How long a commit takes to reach the environment: from the commit&#39;s date to the completion of the successful deployment that shipped it (deployment_commits); median and p90 over the commits.",
  failureRate:
    "How often a deployment fails: FAILED or ERROR deployments over finished ones (SUCCESSFUL, FAILED, ERROR, STOPPED).",
  restore:
    "How long a failed production deployment stays failed: from its completion to the completion of the next successful deployment to the same environment of the same repository; median over the restored failures.",
};

const DORA_FIXTURE = join(root, "test/fixtures/report-dora");

/** A temporary copy of the report-dora fixture (the report is written into the folder). */
function doraFolder(): string {
  const dir = mkdtempSync(join(tmpdir(), "report-dora-"));
  for (const f of ["repositories.jsonl", "deployments.jsonl", "deployment_commits.jsonl"])
    copyFileSync(join(DORA_FIXTURE, f), join(dir, f));
  return dir;
}

test("report: the four DORA keys with their definitions and bands (test/fixtures/report-dora), drawn in Chromium", async () => {
  const chromium = findChromium();
  const dir = doraFolder();
  try {
    const built = await run(process.execPath, ["--import", "tsx", "report/build.ts", dir], { cwd: root });
    assert.match(built.stderr, /report: 0 runs, 0 steps, 13 deployments, 1 repositories, 9 deployment commits/);
    const html = readFileSync(join(dir, "report.html"), "utf8");
    assert.equal(textOf(html, 'id="dora-edition"'), "DORA Accelerate State of DevOps Report 2023");
    assert.equal(textOf(html, 'id="dora-days"'), "14");

    // the production cards: value, band, the figures behind them, the definition (figures: the fixture's README)
    const card = (key: string) => textOf(html, `class="card dora-card" data-key="${key}" data-type="production"`);
    assert.equal(card("frequency"), `Deployment frequency 3 a week High 6 successful in 14 days ${DEFINITIONS.frequency}`);
    assert.equal(card("leadTime"), `Lead time for changes 1h 45m Elite p90 2.8 d · 8 commits ${DEFINITIONS.leadTime}`);
    assert.equal(card("failureRate"), `Change failure rate 30% Low 3 of 10 finished ${DEFINITIONS.failureRate}`);
    assert.equal(card("restore"), `Time to restore 2h 15m High 2 of 3 failures restored ${DEFINITIONS.restore}`);
    const cards = after(html, 'id="dora-cards"');
    const bands = [...cards.slice(0, cards.indexOf("</dl>")).matchAll(/data-band="(\w*)"/g)].map((m) => m[1]);
    assert.deepEqual(bands, ["high", "elite", "low", "high"]);
    const lead = 'class="card dora-card" data-key="leadTime" data-type="production"';
    assert.equal(attrOf(html, lead, "data-p90"), "241920");
    assert.equal(attrOf(html, lead, "data-median"), "6300");
    assert.equal(attrOf(html, 'class="card dora-card" data-key="restore" data-type="production"', "data-median"), "8100");
    assert.equal(attrOf(html, 'class="card dora-card" data-key="failureRate" data-type="production"', "data-value"), "0.3");

    // per environment type
    const byType = after(html, 'id="dora-by-type"');
    assert.equal(
      textOf(byType, 'data-type="production"'),
      "production 3 a week High 6 successful in 14 days 1h 45m Elite p90 2.8 d · 8 commits 30% Low 3 of 10 finished 2h 15m High 2 of 3 failures restored",
    );
    assert.equal(
      textOf(byType, 'data-type="staging"'),
      "staging 0.5 a week Medium 1 successful in 14 days 12 d Medium p90 12 d · 1 commit 50% Low 1 of 2 finished — no band production environments only",
    );

    // per ISO week: successful, lead median, lead p90, failed/finished, CFR, restored/failed, restore median
    const prodWeeks = after(html, 'class="dora-weeks" data-type="production"');
    assert.equal(textOf(prodWeeks, 'data-dora-week="2026-W10"'), "2026-W10 2 Mar 3 1h 45m 9h 00m 1/4 25% 1/1 30m 00s");
    assert.equal(textOf(prodWeeks, 'data-dora-week="2026-W11"'), "2026-W11 9 Mar 3 12h 30m 5.2 d 2/6 33.3% 1/2 4h 00m");
    const stagingWeeks = after(html, 'class="dora-weeks" data-type="staging"');
    assert.equal(textOf(stagingWeeks, 'data-dora-week="2026-W10"'), "2026-W10 2 Mar 1 12 d 12 d 0/1 0% — —");
    assert.equal(textOf(stagingWeeks, 'data-dora-week="2026-W11"'), "2026-W11 9 Mar 0 — — 1/1 100% — —");

    // the thresholds, named by edition
    assert.equal(
      textOf(after(html, 'id="dora-bands"'), 'data-key="failureRate"'),
      "Change failure rate 5% or less over 5%, up to 10% over 10%, up to 15% over 15%",
    );

    // drawn: band badges above the lead-time chart, whose bars follow the data
    const png = join(dir, "report.png");
    await screenshot(chromium, join(dir, "report.html"), png, "dora", 2400);
    const img = decodePng(readFileSync(png));
    const colours = [...Object.values(BAND_COLORS), LEAD_P50_COLOR, LEAD_P90_COLOR];
    const { stats } = colourStats(img, colours);
    const c = (hex: string): ColourStats => stats.get(hex) ?? assert.fail(hex);
    for (const hex of Object.values(BAND_COLORS)) assert.ok(c(hex).count > 150, `band ${hex}: only ${c(hex).count} pixels`);
    assert.ok(c(BAND_COLORS.low).minY < c(LEAD_P90_COLOR).minY, "the cards come before the chart");
    // median bars 6300 + 45000 s, p90 bars 32400 + 449280 s
    const ratio = c(LEAD_P90_COLOR).count / c(LEAD_P50_COLOR).count;
    const want = (32_400 + 449_280) / (6300 + 45_000);
    assert.ok(Math.abs(ratio / want - 1) < 0.12, `p90 / median pixels ${ratio.toFixed(2)}, expected about ${want.toFixed(2)}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("report: DORA keys from files of older versions (no restored_after_seconds, no deployment_commits.jsonl)", async () => {
  const dir = doraFolder();
  try {
    rmSync(join(dir, "deployment_commits.jsonl"));
    const original = readFileSync(join(dir, "deployments.jsonl"), "utf8").split("\n").filter(Boolean);
    const old = original.map((l) => {
      const { restored_after_seconds: _, ...rest } = JSON.parse(l) as Json;
      return rest;
    });
    writeFileSync(join(dir, "deployments.jsonl"), lines(old));
    await run(process.execPath, ["--import", "tsx", "report/build.ts", dir], { cwd: root });
    const html = readFileSync(join(dir, "report.html"), "utf8");
    const card = (key: string) => textOf(html, `class="card dora-card" data-key="${key}" data-type="production"`);
    // the same restore times, computed from the deployments
    assert.equal(card("restore"), `Time to restore 2h 15m High 2 of 3 failures restored ${DEFINITIONS.restore}`);
    assert.equal(card("leadTime"), `Lead time for changes — no band needs deployment_commits.jsonl ${DEFINITIONS.leadTime}`);
    assert.equal(card("frequency"), `Deployment frequency 3 a week High 6 successful in 14 days ${DEFINITIONS.frequency}`);
    assert.match(html, /No deployment_commits\.jsonl in the folder/);
    assert.doesNotMatch(html, /id="chart-lead-time"/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("report: missing files and an empty folder still give a page; no folder is an error", async () => {
  const dir = mkdtempSync(join(tmpdir(), "report-empty-"));
  try {
    const built = await run(process.execPath, ["--import", "tsx", "report/build.ts", dir], { cwd: root });
    assert.match(built.stderr, /report: 0 runs, 0 steps, 0 deployments, 0 repositories/);
    const html = readFileSync(join(dir, "report.html"), "utf8");
    assert.match(html, /No deployments\./);
    assert.match(html, /No completed runs with a duration\./);
    assert.match(html, /No pipeline steps\./);
    assert.equal(textOf(html, 'id="cfr-overall"'), "—");
    await assert.rejects(
      run(process.execPath, ["--import", "tsx", "report/build.ts", join(dir, "nope")], { cwd: root }),
      (e: Error & { code?: number; stderr?: string }) => {
        assert.equal(e.code, 1);
        assert.match(e.stderr ?? "", /not a folder/);
        return true;
      },
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
