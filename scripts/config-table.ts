// Generates the README's "Config" table from spec.json, so the two cannot drift
// (test/config-table.test.ts fails when they do).
//
//   node --import tsx scripts/config-table.ts           # prints the table (markdown) to stdout
//   node --import tsx scripts/config-table.ts --write   # puts it into README.md between the markers
//
// With --write, the table goes between <!-- config-table:start --> and <!-- config-table:end -->.
// When README.md has no markers yet, the first table under its "## Config" heading is replaced by
// the markers and the generated table.
import { readFileSync, writeFileSync } from "node:fs";
import { fileURLToPath, pathToFileURL } from "node:url";

export const START_MARKER = "<!-- config-table:start -->";
export const END_MARKER = "<!-- config-table:end -->";

export const SPEC_PATH = fileURLToPath(new URL("../spec.json", import.meta.url));
export const README_PATH = fileURLToPath(new URL("../README.md", import.meta.url));

/** The parts of a JSON schema (as spec.json writes them) that the table shows. */
export interface PropertySchema {
  type?: string | string[];
  title?: string;
  description?: string;
  default?: unknown;
  const?: unknown;
  enum?: unknown[];
  minimum?: number;
  maximum?: number;
  format?: string;
  airbyte_secret?: boolean;
  order?: number;
  required?: string[];
  properties?: Record<string, PropertySchema>;
  oneOf?: PropertySchema[];
  items?: PropertySchema;
}

interface Spec {
  connectionSpecification: PropertySchema;
}

/** The markdown table (no trailing newline) for a ConnectorSpecification. */
export function configTable(spec: Spec): string {
  const root = spec.connectionSpecification;
  const required = new Set(root.required ?? []);
  const rows = ["| field | required | default | meaning |", "|---|---|---|---|"];
  for (const [name, prop] of ordered(root.properties ?? {})) {
    const cells = [
      code(name),
      required.has(name) ? "yes" : "no",
      prop.default === undefined ? "" : defaultText(prop.default),
      meaning(prop),
    ];
    rows.push(`| ${cells.map(cell).join(" | ")} |`);
  }
  return rows.join("\n");
}

/** A top-level field's meaning: its description, its limits, and its nested fields, compactly. */
function meaning(prop: PropertySchema): string {
  const parts = [sentence(prop.description ?? prop.title ?? "")];
  const limits = constraints(prop);
  if (limits) parts.push(`Allowed: ${limits}.`);
  if (prop.airbyte_secret) parts.push("Secret.");
  if (prop.oneOf) {
    parts.push(
      `One of: ${prop.oneOf
        .map((variant) => {
          const fields = fieldList(variant, true);
          return `**${variant.title ?? "variant"}** ${code(shape(variant))}${fields ? `: ${fields}` : ""}`;
        })
        .join("; ")}.`,
    );
  } else if (prop.properties) {
    parts.push(`Fields: ${fieldList(prop, false)}.`);
  } else if (prop.items?.properties) {
    parts.push(`Each item: ${fieldList(prop.items, false)}.`);
  }
  return parts.filter(Boolean).join(" ");
}

/** `name` (required, default x, secret): description; … for an object's properties. */
function fieldList(schema: PropertySchema, skipConst: boolean): string {
  const required = new Set(schema.required ?? []);
  return ordered(schema.properties ?? {})
    .filter(([, p]) => !(skipConst && p.const !== undefined))
    .map(([name, p]) => {
      const notes = [
        required.has(name) ? "required" : "",
        p.default !== undefined ? `default ${defaultText(p.default)}` : "",
        constraints(p),
        p.airbyte_secret ? "secret" : "",
      ].filter(Boolean);
      const text = p.description ?? p.title ?? "";
      return `${code(name)}${notes.length > 0 ? ` (${notes.join(", ")})` : ""}${text ? `: ${lowerFirst(stripDot(text))}` : ""}`;
    })
    .join("; ");
}

/** A variant of a oneOf as the JSON a user writes: the const, then the other required fields. */
function shape(variant: PropertySchema): string {
  const required = new Set(variant.required ?? []);
  const fields = ordered(variant.properties ?? {})
    .filter(([name, p]) => p.const !== undefined || required.has(name))
    .map(([name, p]) => `"${name}": ${p.const !== undefined ? json(p.const) : '"…"'}`);
  return `{${fields.join(", ")}}`;
}

function constraints(p: PropertySchema): string {
  const out: string[] = [];
  if (p.enum) out.push(`one of ${p.enum.map((v) => code(String(v))).join(", ")}`);
  if (p.minimum !== undefined && p.maximum !== undefined) out.push(`${p.minimum} to ${p.maximum}`);
  else if (p.minimum !== undefined) out.push(`at least ${p.minimum}`);
  else if (p.maximum !== undefined) out.push(`at most ${p.maximum}`);
  return out.join(", ");
}

function ordered(properties: Record<string, PropertySchema>): [string, PropertySchema][] {
  return Object.entries(properties)
    .map((entry, index) => ({ entry, index }))
    .sort((a, b) => (a.entry[1].order ?? Infinity) - (b.entry[1].order ?? Infinity) || a.index - b.index)
    .map(({ entry }) => entry);
}

const json = (value: unknown): string => JSON.stringify(value);
const code = (text: string): string => `\`${text}\``;
/** Table cells: no line breaks, and a literal pipe must not end the cell. */
const cell = (text: string): string => text.replace(/\s*\n\s*/g, " ").replace(/\|/g, "\\|");
const stripDot = (text: string): string => text.trim().replace(/\.$/, "");
const sentence = (text: string): string =>
  text.trim() === "" ? "" : /[.!?]$/.test(text.trim()) ? text.trim() : `${text.trim()}.`;
/** Lower-cases a leading capital, except in an acronym (API) or a name (Atlassian, JavaScript). */
const lowerFirst = (text: string): string =>
  /^[A-Z](?![A-Z])/.test(text) && !/^(JavaScript|Atlassian|Bitbucket)\b/.test(text)
    ? text.charAt(0).toLowerCase() + text.slice(1)
    : text;
/** A default as the user would type it: strings bare, anything else as JSON. */
const defaultText = (value: unknown): string => code(typeof value === "string" ? value : json(value));

export function readSpec(path = SPEC_PATH): Spec {
  return JSON.parse(readFileSync(path, "utf8")) as Spec;
}

/** The text between the markers (trimmed), or undefined when either marker is missing. */
export function tableInReadme(readme: string): string | undefined {
  const start = readme.indexOf(START_MARKER);
  const end = readme.indexOf(END_MARKER);
  if (start === -1 || end === -1 || end < start) return undefined;
  return readme.slice(start + START_MARKER.length, end).trim();
}

/**
 * README.md with `table` between the markers; without markers, the first table under the
 * "## Config" heading is replaced by the markers and the table. Throws when neither is found.
 */
export function withTable(readme: string, table: string): string {
  const block = `${START_MARKER}\n${table}\n${END_MARKER}`;
  if (tableInReadme(readme) !== undefined) {
    const start = readme.indexOf(START_MARKER);
    const end = readme.indexOf(END_MARKER) + END_MARKER.length;
    return readme.slice(0, start) + block + readme.slice(end);
  }
  const lines = readme.split("\n");
  const heading = lines.findIndex((l) => /^##\s+Config\s*$/.test(l));
  if (heading === -1)
    throw new Error(`README.md has neither the markers ${START_MARKER} / ${END_MARKER} nor a "## Config" heading.`);
  let first = heading + 1;
  while (first < lines.length && !lines[first]!.startsWith("|") && !/^#{1,2}\s/.test(lines[first]!)) first++;
  if (first >= lines.length || !lines[first]!.startsWith("|")) {
    throw new Error(
      `README.md has no table under "## Config" to replace: add the markers ${START_MARKER} and ${END_MARKER} where the table goes.`,
    );
  }
  let last = first;
  while (last + 1 < lines.length && lines[last + 1]!.startsWith("|")) last++;
  return [...lines.slice(0, first), block, ...lines.slice(last + 1)].join("\n");
}

function main(argv: string[]): number {
  const unknown = argv.filter((a) => a !== "--write");
  if (unknown.length > 0) {
    process.stderr.write(`usage: config-table.ts [--write]\nunexpected argument: ${unknown[0]}\n`);
    return 2;
  }
  const table = configTable(readSpec());
  if (!argv.includes("--write")) {
    process.stdout.write(`${table}\n`);
    return 0;
  }
  const readme = readFileSync(README_PATH, "utf8");
  const next = withTable(readme, table);
  if (next === readme) {
    process.stderr.write("README.md: the config table is up to date.\n");
  } else {
    writeFileSync(README_PATH, next);
    process.stderr.write("README.md: wrote the config table from spec.json.\n");
  }
  return 0;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  try {
    process.exitCode = main(process.argv.slice(2));
  } catch (error) {
    process.stderr.write(`${(error as Error).message}\n`);
    process.exitCode = 1;
  }
}
