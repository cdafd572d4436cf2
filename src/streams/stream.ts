// What a stream is, and what it may ask of the engine (src/sync), which depends on this file and
// never the other way round. Two kinds:
// - a workspace stream (repositories) reads on its own;
// - a repository stream (pipelines, pipeline_steps, deployments, environments) is read for each
//   repository in one pass shared with the other repository streams of the catalog, so a run
//   listing or an environments page is fetched once however many streams use it.
import type { BitbucketClient } from "../bitbucket/client.js";
import type { Config } from "../config.js";
import type { JsonObject } from "../protocol/messages.js";
import type { RepositoryRef, RepositoryScope } from "./repository-scope.js";

export type SyncMode = "full_refresh" | "incremental";
export type Log = (level: "INFO" | "WARN", message: string) => void;
export type Query = Record<string, string | number | undefined>;

export interface ReadContext {
  config: Config;
  client: BitbucketClient;
  scope: RepositoryScope;
  now: () => number;
  log: Log;
}

/** A Pipelines run, as the engine hands it to the streams. */
export interface Run {
  uuid: string;
  /** Normalised (bitbucket/timestamps.ts). */
  createdOn: string | undefined;
  /** State, stage or result, and run_number (re-runs): what changes when a run changes. */
  fingerprint: string;
  finished: boolean;
  /** The API's object. */
  raw: JsonObject;
}

/** What a repository stream may ask of the repository being read. */
export interface RepositoryData {
  readonly repo: RepositoryRef;
  readonly config: Config;
  readonly log: Log;
  /** Every item of a paged listing under the repository (e.g. "/environments/"), fetched once per pass; [] on a 404. */
  list(path: string, query?: Query): Promise<unknown[]>;
  /** The items of a paged listing as its pages come, kept nowhere; none on a 404. */
  each(path: string, query?: Query): AsyncIterable<unknown>;
  /**
   * The first `limit` items of a listing paged by its `next` links (commits page by opaque
   * tokens), and whether it has more; undefined on a 404.
   */
  listByNext(path: string, query: Query, limit: number): Promise<{ items: unknown[]; more: boolean } | undefined>;
  /** One run by uuid, fetched once per pass; undefined when it is gone (404). */
  run(uuid: string): Promise<Run | undefined>;
}

/**
 * A stream yields records (in batches: a page's worth, not an async step per record);
 * checkpoints (its whole state, covering every record before it); and estimates of its rows.
 */
export type StreamOutput = { records: JsonObject[] } | { checkpoint: JsonObject } | { estimate: number };

interface StreamBase {
  name: string;
  primaryKey: string[][];
  /** Absent: full refresh only. */
  cursorField?: string;
}

export interface WorkspaceStream extends StreamBase {
  kind: "workspace";
  /** Checks an incoming stream_state; throws an InputError naming what is wrong. */
  parseState(state: unknown): JsonObject;
  /** Whether this read takes the objects of the shared repository listing (scope.takeRaw), so the listing keeps them. */
  takesListing?(mode: SyncMode, state: JsonObject | undefined): boolean;
  read(ctx: ReadContext, mode: SyncMode, state: JsonObject | undefined): AsyncIterable<StreamOutput>;
}

/** What a repository stream does within one repository's pass. */
export interface RepositoryReader {
  /** A run the stream acts on (new since its cursor, or watched and changed): its records, at once or as requests fetch them. */
  onRun?(run: Run): JsonObject[] | AsyncIterable<JsonObject> | undefined;
  /** After the runs: records that need the whole pass (deployments, environments). */
  finish?(): AsyncIterable<JsonObject>;
  /** After finish(): what the stream keeps of this repository for the next sync (a small JSON object). */
  memory?(): JsonObject;
}

export interface RepositoryStream extends StreamBase {
  kind: "repository";
  /**
   * Follows runs: acts only on runs new or changed since the last sync, with per-repository run
   * state that the engine keeps (sync/run-state.ts). Otherwise read in full at every sync.
   */
  followsRuns: boolean;
  /** One record per run: progress estimates its rows from the repositories' run counts. */
  recordPerRun?: boolean;
  /** `memory`: what the reader's memory() gave for this repository at the end of the last sync. */
  open(data: RepositoryData, memory: JsonObject | undefined): RepositoryReader;
}

export type Stream = WorkspaceStream | RepositoryStream;
