// Loads the connector's JSON-lines output (<stream>.jsonl, one plain record a line, the files
// `npm run demo` writes) into DuckDB, one table per stream of the configured catalog, the way a
// destination in append_dedup mode would: one row per primary key, the last record emitted
// winning (a later sync emits a run again once finished, and a failed deployment again once
// restored). Columns come from the stream's JSON schema: date-time strings become TIMESTAMP
// in UTC, objects and arrays JSON, so the README's SQL needs no casts.
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { DuckDBConnection } from "@duckdb/node-api";

interface Property {
  type?: string | string[];
  format?: string;
}

export interface ConfiguredCatalog {
  streams: {
    stream: { name: string; json_schema: { properties: Record<string, Property> }; source_defined_primary_key?: string[][] };
  }[];
}

function sqlType(p: Property): string {
  const type = [p.type ?? "object"].flat().find((t) => t !== "null");
  if (type === "string") return p.format === "date-time" ? "TIMESTAMP" : "VARCHAR";
  if (type === "integer") return "BIGINT";
  if (type === "number") return "DOUBLE";
  if (type === "boolean") return "BOOLEAN";
  return "JSON";
}

const ident = (name: string) => `"${name.replaceAll('"', '""')}"`;
const literal = (text: string) => `'${text.replaceAll("'", "''")}'`;

/** The records of `folder`/<stream>.jsonl, the last one of each primary key, in order of their last emission. */
export function latestRecords(folder: string, stream: string, primaryKey: string[][]): string[] {
  const path = join(folder, `${stream}.jsonl`);
  if (!existsSync(path)) return [];
  const latest = new Map<string, string>();
  readFileSync(path, "utf8")
    .split("\n")
    .filter(Boolean)
    .forEach((line, i) => {
      const record = JSON.parse(line) as Record<string, unknown>;
      const key = primaryKey.length
        ? JSON.stringify(
            primaryKey.map((path) => path.reduce<unknown>((v, k) => (v as Record<string, unknown> | null)?.[k], record)),
          )
        : String(i);
      latest.delete(key); // re-inserted: the table's order is that of the latest records
      latest.set(key, line);
    });
  return [...latest.values()];
}

/** Creates (replacing) one table per catalog stream and loads it; returns the rows per table. */
export async function loadStreams(
  connection: DuckDBConnection,
  folder: string,
  catalog: ConfiguredCatalog,
): Promise<Map<string, number>> {
  // A timestamp written without an offset is UTC, whatever the machine's time zone.
  await connection.run("SET TimeZone = 'UTC'");
  const rows = new Map<string, number>();
  const scratch = mkdtempSync(join(tmpdir(), "load-duckdb-"));
  try {
    for (const { stream } of catalog.streams) {
      const columns = Object.entries(stream.json_schema.properties).map(([name, p]) => ({ name, type: sqlType(p) }));
      await connection.run(
        `CREATE OR REPLACE TABLE ${ident(stream.name)} (${columns.map((c) => `${ident(c.name)} ${c.type}`).join(", ")})`,
      );
      const lines = latestRecords(folder, stream.name, stream.source_defined_primary_key ?? []);
      rows.set(stream.name, lines.length);
      if (lines.length === 0) continue;
      const file = join(scratch, `${stream.name}.jsonl`);
      writeFileSync(file, `${lines.join("\n")}\n`);
      // Timestamps are read as text, then brought to UTC: they may carry any offset.
      const read = columns.map((c) => `${literal(c.name)}: ${literal(c.type === "TIMESTAMP" ? "VARCHAR" : c.type)}`).join(", ");
      const select = columns.map((c) =>
        c.type === "TIMESTAMP" ? `timezone('UTC', CAST(${ident(c.name)} AS TIMESTAMPTZ))` : ident(c.name),
      );
      await connection.run(
        `INSERT INTO ${ident(stream.name)} SELECT ${select.join(", ")} FROM read_json(${literal(file)}, format = 'newline_delimited', columns = {${read}})`,
      );
    }
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
  return rows;
}
