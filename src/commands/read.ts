// `read`: the configured streams, one after the other (the repository streams in one shared
// pass). A failing stream ends INCOMPLETE with a TRACE ERROR and the others still run, unless the
// error table (src/errors.ts) says the failure stops the sync; any failure makes the exit code
// non-zero.
import { loadConfig, readJsonFile } from "../config.js";
import { ConnectorError } from "../errors.js";
import { type JsonObject, log, streamStatus, traceOf } from "../protocol/messages.js";
import { OutputClosedError } from "../protocol/writer.js";
import { createRepositoryScope } from "../streams/repository-scope.js";
import type { ReadContext, StreamOutput } from "../streams/stream.js";
import { parseCatalog } from "../sync/catalog.js";
import { readRepositoryStreams } from "../sync/read-repositories.js";
import { type TaggedOutput, writeStreams } from "../sync/read-stream.js";
import { parseRunsState, type RunsState } from "../sync/run-state.js";
import { parseInputState } from "../sync/state.js";
import { createClient } from "./client.js";
import type { CommandDeps } from "./deps.js";

export interface ReadArgs {
  config: string;
  catalog: string;
  state?: string;
}

export async function read(args: ReadArgs, deps: CommandDeps): Promise<number> {
  const { out, now } = deps;
  const config = loadConfig(args.config, new Date(now()));
  const catalogNotes: string[] = [];
  const configured = parseCatalog(readJsonFile(args.catalog, "catalog"), catalogNotes);
  for (const note of catalogNotes) await out.write(log("INFO", note));
  const input = args.state === undefined ? { streams: new Map<string, unknown>() } : parseInputState(readStateFile(args.state));
  // Each input state is checked once, here, into what its stream reads.
  const workspaceStates = new Map<string, JsonObject>();
  const runsStates = new Map<string, RunsState>();
  for (const [name, state] of input.streams) {
    const stream = configured.find((c) => c.stream.name === name)?.stream;
    if (!stream) {
      await out.write(log("INFO", `Ignored the input state of stream "${name}": it is not in the catalog.`));
    } else if (stream.kind === "workspace") {
      workspaceStates.set(name, stream.parseState(state));
    } else if (stream.followsRuns) {
      runsStates.set(name, parseRunsState(state, name, stream.cursorField!));
    }
  }

  const emitLog = (level: "INFO" | "WARN", message: string): void => {
    out.write(log(level, message)).catch(() => undefined);
  };
  const client = createClient(config, deps, emitLog);
  const keepListing = configured.some(
    ({ stream, mode }) => stream.kind === "workspace" && stream.takesListing?.(mode, workspaceStates.get(stream.name)),
  );
  const scope = createRepositoryScope(client, config, keepListing);
  const ctx: ReadContext = { config, client, scope, now, log: emitLog };
  // The workspace streams one by one, then every repository stream in one shared pass.
  const repositoryGroup = configured.flatMap(({ stream, mode }) =>
    stream.kind === "repository" ? [{ stream, mode, state: runsStates.get(stream.name) }] : [],
  );
  const runs: Array<{ names: string[]; outputs: () => AsyncIterable<TaggedOutput> }> = configured.flatMap(({ stream, mode }) =>
    stream.kind === "workspace"
      ? [{ names: [stream.name], outputs: () => tag(stream.name, stream.read(ctx, mode, workspaceStates.get(stream.name))) }]
      : [],
  );
  if (repositoryGroup.length > 0) {
    runs.push({ names: repositoryGroup.map((g) => g.stream.name), outputs: () => readRepositoryStreams(ctx, repositoryGroup) });
  }
  let failed = false;
  try {
    for (const [i, { names, outputs }] of runs.entries()) {
      try {
        await writeStreams(out, names, outputs(), now);
      } catch (error) {
        if (error instanceof OutputClosedError || out.closed) throw error;
        failed = true;
        for (const name of names) {
          await out.write(streamStatus(name, "INCOMPLETE", now()));
          await out.write(traceOf(error, now(), name));
        }
        if (error instanceof ConnectorError && error.action === "stop_sync") {
          // Every stream after it would meet the same failure: they are not started.
          for (const name of runs.slice(i + 1).flatMap((r) => r.names)) await out.write(streamStatus(name, "INCOMPLETE", now()));
          break;
        }
      }
    }
  } finally {
    await client.close();
  }
  const missing = scope.missing();
  if (missing.length > 0) {
    await out.write(
      log(
        "WARN",
        `Not read: these repositories of the config are not visible to the credentials in workspace "${config.workspace}": ${missing.join(", ")}. Check the slugs and the token's access.`,
      ),
    );
  }
  await out.write(log("INFO", `Read finished: ${client.requestCount} requests to ${client.origin}.`));
  return failed ? 1 : 0;
}

/** An empty state file means no state, as Airbyte may send one. */
function readStateFile(path: string): unknown {
  return readJsonFile(path, "state", true);
}

async function* tag(stream: string, outputs: AsyncIterable<StreamOutput>): AsyncGenerator<TaggedOutput> {
  for await (const output of outputs) yield { ...output, stream };
}
