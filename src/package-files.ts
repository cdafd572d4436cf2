// Files shipped beside dist/: spec.json and schemas/. Resolved from this module so the CLI works
// from a clone, an npm install or the container alike.
import { readFileSync } from "node:fs";

const root = new URL("../", import.meta.url);

export function readShippedJson(relativePath: string): unknown {
  return JSON.parse(readFileSync(new URL(relativePath, root), "utf8"));
}
