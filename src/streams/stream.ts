// What a stream is: a name, a schema, keys, and a read that yields records and checkpoints.
// The loop that turns these into protocol messages (counts, STATE, statuses) is sync/read-stream.ts.
import type { BitbucketClient } from "../bitbucket/client.js";
import type { Config } from "../config.js";
import type { JsonObject } from "../protocol/messages.js";
import type { RepositoryScope } from "./repository-scope.js";

export type SyncMode = "full_refresh" | "incremental";

export interface ReadContext {
  config: Config;
  client: BitbucketClient;
  scope: RepositoryScope;
  now: () => number;
  log: (level: "INFO" | "WARN", message: string) => void;
}

/**
 * A stream yields records; checkpoints (its whole state, covering every record before it); and
 * estimates of its total rows, for progress.
 */
export type StreamOutput = { record: JsonObject } | { checkpoint: JsonObject } | { estimate: number };

export interface Stream {
  name: string;
  primaryKey: string[][];
  cursorField: string;
  /** Checks an incoming stream_state; throws an InputError naming what is wrong. */
  parseState(state: unknown): JsonObject;
  read(ctx: ReadContext, mode: SyncMode, state: JsonObject | undefined): AsyncIterable<StreamOutput>;
}
