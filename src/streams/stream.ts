// What a stream is. Two kinds:
// - a workspace stream (repositories) reads on its own;
// - a repository stream (pipelines, pipeline_steps, deployments, environments) is read for each
//   repository in one pass shared with the other repository streams of the catalog, so a run
//   listing or an environments page is fetched once however many streams use it.
import type { BitbucketClient } from "../bitbucket/client.js";
import type { Config } from "../config.js";
import type { JsonObject } from "../protocol/messages.js";
import type { RepositoryPass } from "../sync/repository-pass.js";
import type { Run } from "../sync/run-tracker.js";
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
 * A stream yields records (in batches: each hop of an async generator costs more than writing
 * a record does); checkpoints (its whole state, covering every record before it); and estimates
 * of its total rows, for progress.
 */
export type StreamOutput = { records: JsonObject[] } | { checkpoint: JsonObject } | { estimate: number };

interface StreamBase {
  name: string;
  primaryKey: string[][];
  /** Absent: full refresh only. */
  cursorField?: string;
  /** Checks an incoming stream_state; throws an InputError naming what is wrong. */
  parseState(state: unknown): JsonObject;
}

export interface WorkspaceStream extends StreamBase {
  kind: "workspace";
  read(ctx: ReadContext, mode: SyncMode, state: JsonObject | undefined): AsyncIterable<StreamOutput>;
}

/** What a repository stream does within one repository's pass. */
export interface RepositoryReader {
  /**
   * A run this stream acts on (new since its cursor, or watched and changed): its records, at
   * once (an array) or as requests fetch them (an async iterable).
   */
  onRun?(run: Run): JsonObject[] | AsyncIterable<JsonObject> | undefined;
  /** After the runs: records that need the whole pass (e.g. deployments, environments). */
  finish?(): AsyncIterable<JsonObject>;
}

export interface RepositoryStream extends StreamBase {
  kind: "repository";
  /** Whether the stream follows runs (and keeps per-repository run state). */
  followsRuns: boolean;
  open(pass: RepositoryPass): RepositoryReader;
}

export type Stream = WorkspaceStream | RepositoryStream;
