// `read`: the configured streams, one after the other. A failing stream ends INCOMPLETE with a
// TRACE ERROR and the others still run; any failure makes the exit code non-zero.
import { loadConfig, readJsonFile } from "../config.js";
import { ConnectorError } from "../errors.js";
import { type JsonObject, log, streamStatus, traceError } from "../protocol/messages.js";
import { OutputClosedError } from "../protocol/writer.js";
import { createRepositoryScope } from "../streams/repository-scope.js";
import type { ReadContext, StreamOutput } from "../streams/stream.js";
import { parseCatalog } from "../sync/catalog.js";
import { type TaggedOutput, writeStreams } from "../sync/read-stream.js";
import { readRepositoryStreams } from "../sync/repository-pass.js";
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
  const states = new Map<string, JsonObject>();
  for (const [name, state] of input.streams) {
    const entry = configured.find((c) => c.stream.name === name);
    if (!entry) {
      await out.write(log("INFO", `Ignored the input state of stream "${name}": it is not in the catalog.`));
      continue;
    }
    states.set(name, entry.stream.parseState(state));
  }

  const emitLog = (level: "INFO" | "WARN", message: string): void => {
    out.write(log(level, message)).catch(() => undefined);
  };
  const client = createClient(config, deps, emitLog);
  // The repositories stream reuses the listing's objects when it reads in full (no cursor).
  const keepListing = configured.some(
    (c) => c.stream.name === "repositories" && (c.mode === "full_refresh" || !states.get("repositories")?.updated_on),
  );
  const scope = createRepositoryScope(client, config, keepListing);
  const ctx: ReadContext = { config, client, scope, now, log: emitLog };
  // The workspace streams one by one, then every repository stream in one shared pass.
  const repositoryGroup = configured.flatMap(({ stream, mode }) =>
    stream.kind === "repository" ? [{ stream, mode, state: states.get(stream.name) }] : [],
  );
  const runs: Array<{ names: string[]; outputs: () => AsyncIterable<TaggedOutput> }> = configured.flatMap(({ stream, mode }) =>
    stream.kind === "workspace"
      ? [{ names: [stream.name], outputs: () => tag(stream.name, stream.read(ctx, mode, states.get(stream.name))) }]
      : [],
  );
  if (repositoryGroup.length > 0) {
    runs.push({ names: repositoryGroup.map((g) => g.stream.name), outputs: () => readRepositoryStreams(ctx, repositoryGroup) });
  }
  let failed = false;
  try {
    for (const { names, outputs } of runs) {
      try {
        await writeStreams(out, names, outputs(), now);
      } catch (error) {
        if (error instanceof OutputClosedError || out.closed) throw error;
        failed = true;
        const e = error instanceof ConnectorError ? error : undefined;
        for (const name of names) {
          await out.write(streamStatus(name, "INCOMPLETE", now()));
          await out.write(
            traceError(
              `Stream ${name} failed: ${e ? e.message : String((error as Error).message)}`,
              e ? e.failureType : "system_error",
              now(),
              name,
              e ? undefined : (error as Error).stack,
            ),
          );
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
