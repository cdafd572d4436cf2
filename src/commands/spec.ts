// `spec`: the ConnectorSpecification, exactly spec.json.
import { readShippedJson } from "../package-files.js";
import type { JsonObject } from "../protocol/messages.js";
import type { CommandDeps } from "./deps.js";

export async function spec({ out }: CommandDeps): Promise<number> {
  await out.write({ type: "SPEC", spec: readShippedJson("spec.json") as JsonObject });
  return 0;
}
