// `discover`: the catalog of streams. The config is validated but no request is made: the
// streams and their schemas do not depend on the workspace.
import { loadConfig } from "../config.js";
import { airbyteStream, STREAMS } from "../streams/index.js";
import type { CommandDeps } from "./deps.js";

export async function discover(configPath: string, { out, now }: CommandDeps): Promise<number> {
  loadConfig(configPath, new Date(now()));
  await out.write({ type: "CATALOG", catalog: { streams: STREAMS.map(airbyteStream) } });
  return 0;
}
