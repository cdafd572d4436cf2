// Inline SVG charts, generated as strings: no library, no script, nothing fetched when viewed.
// Each chart is a <figure> with an HTML legend and an <svg role="img"> that carries a <title> and
// a <desc>; every bar has a <title> (the browser's tooltip) with its exact value.

export const esc = (s: string): string =>
  s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;").replace(/'/g, "&#39;");

/** Rounds for SVG coordinates: two decimals are plenty. */
const r2 = (n: number): string => String(Math.round(n * 100) / 100);

/** Rough width of a label in px (DejaVu Sans / system sans at `size` px averages ~0.6 em). */
export const textWidth = (s: string, size = 12): number => s.length * size * 0.6;

const truncate = (s: string, px: number, size = 12): string => {
  const max = Math.floor(px / (size * 0.6));
  return s.length <= max ? s : s.slice(0, Math.max(1, max - 1)) + "…";
};

export interface ChartSeries {
  key: string;
  label: string;
  color: string;
  /** drawn with white diagonal stripes over the colour (and so in the legend) */
  hatched?: boolean;
}

// ---------------------------------------------------------------------------------------------
// Axes

/** Round tick values from 0 to at least `max`: steps of 1, 2 or 5 × 10^k. */
export function niceTicks(max: number, target = 5, integer = false): number[] {
  if (!(max > 0)) return [0, 1];
  const raw = max / target;
  const mag = 10 ** Math.floor(Math.log10(raw));
  let step = [1, 2, 2.5, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? 10 * mag;
  if (integer) step = Math.max(1, Math.ceil(step));
  const ticks: number[] = [];
  for (let v = 0; v < max + step - 1e-9; v += step) ticks.push(Math.round(v * 1e6) / 1e6);
  return ticks;
}

const DURATION_STEPS = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1200, 1800, 3600, 7200, 10800, 21600, 43200, 86400];

/** Ticks for a seconds axis, on round time units (30 s, 1 min, 5 min, 1 h, …). */
export function durationTicks(max: number, target = 6): number[] {
  if (!(max > 0)) return [0, 60];
  const step = DURATION_STEPS.find((s) => max / s <= target) ?? Math.ceil(max / target / 86400) * 86400;
  const ticks: number[] = [];
  for (let v = 0; v < max + step; v += step) ticks.push(v);
  return ticks;
}

/** 45 → "45s", 245 → "4m 05s", 3725 → "1h 02m"; below a minute keeps one decimal. */
export function fmtDuration(seconds: number): string {
  if (seconds < 60) return `${Math.round(seconds * 10) / 10}s`;
  const s = Math.round(seconds);
  if (s < 3600) return `${Math.floor(s / 60)}m ${String(s % 60).padStart(2, "0")}s`;
  return `${Math.floor(s / 3600)}h ${String(Math.floor((s % 3600) / 60)).padStart(2, "0")}m`;
}

/** Like fmtDuration below a day; in days past it: 241920 → "2.8 d". */
export function fmtSpan(seconds: number): string {
  if (seconds < 86_400) return fmtDuration(seconds);
  return `${Math.round((seconds / 86_400) * 10) / 10} d`;
}

/** Axis tick label for seconds: "0", "30s", "5m", "1h", "1h 30m", "2d". */
export function fmtDurationTick(seconds: number): string {
  if (seconds === 0) return "0";
  if (seconds >= 86_400 && seconds % 86_400 === 0) return `${seconds / 86_400}d`;
  if (seconds < 60) return `${seconds}s`;
  if (seconds < 3600) return seconds % 60 === 0 ? `${seconds / 60}m` : fmtDuration(seconds);
  const h = Math.floor(seconds / 3600);
  const m = Math.round((seconds % 3600) / 60);
  return m === 0 ? `${h}h` : `${h}h ${m}m`;
}

export const fmtPercent = (v: number, digits = 1): string => `${(v * 100).toFixed(digits).replace(/\.0+$/, "")}%`;

// ---------------------------------------------------------------------------------------------
// Shared pieces

function legend(series: readonly ChartSeries[], extra = ""): string {
  const items = series.map(
    (s) =>
      `<li><span class="swatch${s.hatched ? " hatched" : ""}" style="background-color:${s.color}" aria-hidden="true"></span>${esc(s.label)}</li>`,
  );
  return `<ul class="legend" aria-label="Legend">${items.join("")}${extra}</ul>`;
}

function svgOpen(id: string, width: number, height: number, title: string, desc: string): string {
  return (
    `<svg id="${id}" class="chart-svg" role="img" aria-labelledby="${id}-title ${id}-desc" width="${width}" height="${height}" ` +
    `viewBox="0 0 ${width} ${height}" xmlns="http://www.w3.org/2000/svg">` +
    `<title id="${id}-title">${esc(title)}</title><desc id="${id}-desc">${esc(desc)}</desc>` +
    `<defs><pattern id="${id}-hatch" patternUnits="userSpaceOnUse" width="6" height="6" patternTransform="rotate(45)">` +
    `<rect width="2.5" height="6" fill="#ffffff" fill-opacity="0.6"/></pattern></defs>`
  );
}

function rect(
  id: string,
  x: number,
  y: number,
  w: number,
  h: number,
  color: string,
  hatched: boolean | undefined,
  tip: string,
): string {
  const box = `x="${r2(x)}" y="${r2(y)}" width="${r2(Math.max(0, w))}" height="${r2(Math.max(0, h))}"`;
  const overlay = hatched ? `<rect ${box} fill="url(#${id}-hatch)"/>` : "";
  return `<g class="bar"><title>${esc(tip)}</title><rect ${box} fill="${color}"/>${overlay}</g>`;
}

const emptyNote = (text: string): string => `<p class="empty">${esc(text)}</p>`;

// ---------------------------------------------------------------------------------------------
// Vertical bars over categories (weeks): stacked series, optional reference line

export interface Category {
  key: string;
  /** short lines under the bar; the third and later are shown only where they change (e.g. the year) */
  label: string[];
  /** long name for tooltips */
  name: string;
}

export interface ColumnChartInput {
  id: string;
  title: string;
  desc: string;
  categories: Category[];
  series: ChartSeries[];
  /** value of a series in a category (stacked bottom-up in series order); null = no data */
  value: (category: number, series: string) => number | null;
  xLabel: string;
  yLabel: string;
  /** label above each bar (the total by default) */
  barLabel?: (category: number, total: number | null) => string;
  ticks?: (max: number) => number[];
  tickLabel?: (v: number) => string;
  valueLabel?: (v: number) => string;
  /** a horizontal reference line, e.g. the overall rate */
  reference?: { value: number; label: string };
  /** fixed top of the value axis (e.g. 1 for rates) */
  maxValue?: number;
  width?: number;
  height?: number;
}

export function columnChart(input: ColumnChartInput): string {
  const { id, categories, series } = input;
  const W = input.width ?? 1100;
  const H = input.height ?? 360;
  const m = { left: 64, right: input.reference ? 110 : 16, top: 22, bottom: 78 };
  const pw = W - m.left - m.right;
  const ph = H - m.top - m.bottom;
  const n = Math.max(1, categories.length);
  const band = pw / n;
  const barW = Math.min(band * 0.72, 56);

  const totals = categories.map((_, i) => {
    let sum: number | null = null;
    for (const s of series) {
      const v = input.value(i, s.key);
      if (v !== null) sum = (sum ?? 0) + v;
    }
    return sum;
  });
  const dataMax = Math.max(0, ...totals.map((t) => t ?? 0), input.reference?.value ?? 0);
  const ticks = (input.ticks ?? ((x: number) => niceTicks(x, 5, true)))(
    input.maxValue !== undefined ? Math.min(input.maxValue, dataMax) || input.maxValue : dataMax,
  );
  const top = Math.max(ticks[ticks.length - 1] ?? 1, 1e-9);
  const y = (v: number) => m.top + ph - (v / top) * ph;
  const tickLabel = input.tickLabel ?? ((v: number) => String(v));
  const valueLabel = input.valueLabel ?? ((v: number) => String(v));

  const parts: string[] = [svgOpen(id, W, H, input.title, input.desc)];
  // grid and value axis
  parts.push(`<g class="grid">`);
  for (const t of ticks) {
    parts.push(`<line x1="${m.left}" x2="${m.left + pw}" y1="${r2(y(t))}" y2="${r2(y(t))}"/>`);
  }
  parts.push(`</g><g class="axis y-axis">`);
  for (const t of ticks) parts.push(`<text x="${m.left - 8}" y="${r2(y(t) + 4)}" text-anchor="end">${esc(tickLabel(t))}</text>`);
  parts.push(
    `<text class="axis-title" transform="translate(16 ${r2(m.top + ph / 2)}) rotate(-90)" text-anchor="middle">${esc(input.yLabel)}</text></g>`,
  );

  // bars
  const labelStep = Math.max(1, Math.ceil(44 / band));
  parts.push(`<g class="bars" shape-rendering="crispEdges">`);
  categories.forEach((c, i) => {
    const x = m.left + i * band + (band - barW) / 2;
    let acc = 0;
    for (const s of series) {
      const v = input.value(i, s.key);
      if (v === null || v <= 0) continue;
      const y0 = y(acc);
      const y1 = y(acc + v);
      acc += v;
      parts.push(rect(id, x, y1, barW, y0 - y1, s.color, s.hatched, `${c.name}: ${s.label} ${valueLabel(v)}`));
    }
  });
  parts.push(`</g><g class="bar-labels">`);
  categories.forEach((_c, i) => {
    const t = totals[i] ?? null;
    const text = input.barLabel ? input.barLabel(i, t) : t === null || t === 0 ? "" : valueLabel(t);
    if (!text || band < 16) return;
    parts.push(`<text x="${r2(m.left + i * band + band / 2)}" y="${r2(y(t ?? 0) - 5)}" text-anchor="middle">${esc(text)}</text>`);
  });
  parts.push(`</g>`);

  // reference line
  if (input.reference) {
    const ry = y(input.reference.value);
    parts.push(
      `<g class="reference"><line x1="${m.left}" x2="${m.left + pw}" y1="${r2(ry)}" y2="${r2(ry)}"/>` +
        `<text x="${m.left + pw + 6}" y="${r2(ry + 4)}">${esc(input.reference.label)}</text></g>`,
    );
  }

  // category axis
  parts.push(`<g class="axis x-axis"><line x1="${m.left}" x2="${m.left + pw}" y1="${m.top + ph}" y2="${m.top + ph}"/>`);
  let lastTail = "";
  categories.forEach((c, i) => {
    if (i % labelStep !== 0) return;
    const cx = m.left + i * band + band / 2;
    const tail = c.label.slice(2).join(" ");
    const shown = tail === lastTail ? c.label.slice(0, 2) : c.label;
    lastTail = tail;
    const lines = shown.map((l, k) => `<tspan x="${r2(cx)}" dy="${k === 0 ? 0 : 14}">${esc(l)}</tspan>`).join("");
    parts.push(`<text x="${r2(cx)}" y="${m.top + ph + 16}" text-anchor="middle">${lines}</text>`);
  });
  parts.push(
    `<text class="axis-title" x="${r2(m.left + pw / 2)}" y="${H - 8}" text-anchor="middle">${esc(input.xLabel)}</text></g>`,
  );
  parts.push(`</svg>`);

  const refLegend = input.reference
    ? `<li><span class="swatch line" aria-hidden="true"></span>${esc(input.reference.label)} (dashed line)</li>`
    : "";
  return `<figure class="chart">${legend(series, refLegend)}${parts.join("")}</figure>`;
}

// ---------------------------------------------------------------------------------------------
// Horizontal bars over rows (repositories, steps): grouped or stacked series

export interface BarRow {
  label: string;
  /** second, muted part of the label (e.g. the repository of a step) */
  sublabel?: string;
}

export interface BarChartInput {
  id: string;
  title: string;
  desc: string;
  rows: BarRow[];
  series: ChartSeries[];
  value: (row: number, series: string) => number;
  mode: "grouped" | "stacked";
  xLabel: string;
  ticks: (max: number) => number[];
  tickLabel: (v: number) => string;
  valueLabel: (v: number) => string;
  width?: number;
}

export function barChart(input: BarChartInput): string {
  const { id, rows, series, mode } = input;
  if (rows.length === 0) return emptyNote("No data.");
  const W = input.width ?? 1100;
  const labelText = (r: BarRow) => (r.sublabel ? `${r.label} · ${r.sublabel}` : r.label);
  const labelW = Math.min(380, Math.max(90, ...rows.map((r) => textWidth(labelText(r)) + 16)));
  const m = { left: labelW, right: 70, top: 10, bottom: 50 };
  const barH = mode === "grouped" ? 15 : 20;
  const rowH = (mode === "grouped" ? barH * series.length : barH) + 12;
  const ph = rows.length * rowH;
  const H = m.top + ph + m.bottom;
  const pw = W - m.left - m.right;

  const rowTotals = rows.map((_, i) => series.map((s) => input.value(i, s.key)));
  const max = Math.max(0, ...rowTotals.map((vs) => (mode === "stacked" ? vs.reduce((a, b) => a + b, 0) : Math.max(0, ...vs))));
  const ticks = input.ticks(max);
  const top = Math.max(ticks[ticks.length - 1] ?? 1, 1e-9);
  const x = (v: number) => m.left + (v / top) * pw;

  const parts: string[] = [svgOpen(id, W, H, input.title, input.desc)];
  parts.push(`<g class="grid">`);
  for (const t of ticks) parts.push(`<line x1="${r2(x(t))}" x2="${r2(x(t))}" y1="${m.top}" y2="${m.top + ph}"/>`);
  parts.push(`</g><g class="row-labels">`);
  rows.forEach((r, i) => {
    const cy = m.top + i * rowH + rowH / 2 + 4;
    const full = labelText(r);
    const shown = truncate(full, labelW - 14);
    const main = shown.slice(0, Math.min(shown.length, r.label.length));
    const rest = shown.slice(main.length);
    parts.push(
      `<text x="${labelW - 10}" y="${r2(cy)}" text-anchor="end"><title>${esc(full)}</title>${esc(main)}` +
        (rest ? `<tspan class="muted">${esc(rest)}</tspan>` : "") +
        `</text>`,
    );
  });
  parts.push(`</g><g class="bars" shape-rendering="crispEdges">`);
  const labels: string[] = [];
  rows.forEach((r, i) => {
    const y0 = m.top + i * rowH + 6;
    let acc = 0;
    series.forEach((s, k) => {
      const v = input.value(i, s.key);
      const tip = `${labelText(r)}: ${s.label} ${input.valueLabel(v)}`;
      if (mode === "grouped") {
        const by = y0 + k * barH;
        if (v > 0) parts.push(rect(id, x(0), by + 1, x(v) - x(0), barH - 2, s.color, s.hatched, tip));
        labels.push(`<text x="${r2(x(v) + 5)}" y="${r2(by + barH / 2 + 4)}">${esc(input.valueLabel(v))}</text>`);
      } else {
        if (v > 0) parts.push(rect(id, x(acc), y0, x(acc + v) - x(acc), barH, s.color, s.hatched, tip));
        acc += v;
      }
    });
    if (mode === "stacked")
      labels.push(`<text x="${r2(x(acc) + 5)}" y="${r2(y0 + barH / 2 + 4)}">${esc(input.valueLabel(acc))}</text>`);
  });
  parts.push(`</g><g class="bar-labels">${labels.join("")}</g>`);
  parts.push(`<g class="axis x-axis"><line x1="${m.left}" x2="${m.left}" y1="${m.top}" y2="${m.top + ph}"/>`);
  for (const t of ticks)
    parts.push(`<text x="${r2(x(t))}" y="${m.top + ph + 16}" text-anchor="middle">${esc(input.tickLabel(t))}</text>`);
  parts.push(
    `<text class="axis-title" x="${r2(m.left + pw / 2)}" y="${H - 8}" text-anchor="middle">${esc(input.xLabel)}</text></g>`,
  );
  parts.push(`</svg>`);
  return `<figure class="chart">${legend(series)}${parts.join("")}</figure>`;
}
