// Config, catalog and state files in a temporary folder, as a user would write them.
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const dir = mkdtempSync(join(tmpdir(), "bbp-test-"));
let n = 0;

export function writeJson(value: unknown, name = "file"): string {
  const path = join(dir, `${name}-${++n}.json`);
  writeFileSync(path, typeof value === "string" ? value : JSON.stringify(value));
  return path;
}

export function catalogFile(streams: string[] = ["repositories", "pipelines"], mode = "incremental"): string {
  return writeJson(
    {
      streams: streams.map((name) => ({
        stream: { name, json_schema: {}, supported_sync_modes: ["full_refresh", "incremental"] },
        sync_mode: mode,
        destination_sync_mode: "append_dedup",
      })),
    },
    "catalog",
  );
}
