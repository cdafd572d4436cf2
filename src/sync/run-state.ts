// The state of a stream that follows runs (pipelines, pipeline_steps, deployments): read from
// the input once into a typed value, and written back here, in one place. Its JSON form:
//   { "<cursor field>": newest created_on of any repository,
//     "repositories": { "<repository uuid>": RepositoryRunsState, … } }
// A bare { "<cursor field>": … } without repositories (an older or hand-written state) applies
// to every repository.
import { normaliseTimestamp } from "../bitbucket/timestamps.js";
import { InputError } from "../errors.js";
import type { JsonObject } from "../protocol/messages.js";
import { cursorFrom } from "../streams/cursor.js";

export interface WatchedRun {
  /** The run's created_on. Not named created_on: hosts look for the cursor field by name. */
  created: string;
  /** What was last seen of it (Run.fingerprint). */
  seen: string;
}

export interface RepositoryRunsState {
  /** created_on of the newest run acted on in this repository. */
  created_on?: string;
  runs?: Record<string, WatchedRun>;
  /** When this repository was last asked for runs (only with idle_repository_poll_hours). */
  polled_at?: string;
  /**
   * A pass that stopped part way through a large repository: the runs created after `oldest`
   * and up to `newest` were read. The next pass reads on below `oldest` instead of starting over.
   */
  partial?: { oldest: string; newest: string };
  /** What the stream keeps of the repository for the next sync (its reader's memory()). */
  memory?: JsonObject;
}

export interface RunsState {
  /** The newest created_on over all repositories. */
  cursor?: string;
  repositories: Record<string, RepositoryRunsState>;
  /** From a bare cursor: the entry of every repository the state does not list. */
  fallback: RepositoryRunsState;
}

export const emptyRunsState = (): RunsState => ({ repositories: {}, fallback: {} });

/** Whether a watched run's last fingerprint says it was unfinished. */
export function wasUnfinished(w: WatchedRun): boolean {
  return !w.seen.startsWith("COMPLETED:");
}

export function runsStateToJson(cursorField: string, state: RunsState): JsonObject {
  return { ...(state.cursor ? { [cursorField]: state.cursor } : {}), repositories: state.repositories };
}

/** Checks an input stream_state and reads it; throws an InputError naming what is wrong. */
export function parseRunsState(raw: unknown, stream: string, cursorField: string): RunsState {
  const cursor = cursorFrom(raw, cursorField, stream);
  const repositories = (raw as Record<string, unknown>).repositories;
  if (repositories === undefined || repositories === null) {
    return { ...(cursor ? { cursor } : {}), repositories: {}, fallback: cursor ? { created_on: cursor } : {} };
  }
  if (typeof repositories !== "object" || Array.isArray(repositories)) {
    throw new InputError(
      `The state of stream ${stream} has a repositories value that is not an object keyed by repository uuid.`,
    );
  }
  const parsed: Record<string, RepositoryRunsState> = {};
  for (const [uuid, entry] of Object.entries(repositories)) parsed[uuid] = parseEntry(entry, stream, uuid);
  return { ...(cursor ? { cursor } : {}), repositories: parsed, fallback: {} };
}

function parseEntry(entry: unknown, stream: string, uuid: string): RepositoryRunsState {
  const where = `${stream} (repository ${uuid})`;
  const parsed: RepositoryRunsState = {};
  const created = cursorFrom(entry, "created_on", where);
  if (created) parsed.created_on = created;
  const polledAt = cursorFrom(entry, "polled_at", where);
  if (polledAt) parsed.polled_at = polledAt;
  const { partial, runs, memory } = entry as Record<string, unknown>;
  if (memory !== undefined && memory !== null) {
    if (typeof memory !== "object" || Array.isArray(memory)) {
      throw new InputError(`The state of stream ${stream} has a memory for repository ${uuid} that is not an object.`);
    }
    parsed.memory = memory as JsonObject;
  }
  if (partial !== undefined && partial !== null) {
    const oldest = cursorFrom(partial, "oldest", `${where}, partial`);
    const newest = cursorFrom(partial, "newest", `${where}, partial`);
    if (!oldest || !newest) {
      throw new InputError(`The state of stream ${stream} has a partial entry for repository ${uuid} without oldest and newest.`);
    }
    parsed.partial = { oldest, newest };
  }
  if (runs !== undefined && runs !== null) {
    if (typeof runs !== "object" || Array.isArray(runs)) {
      throw new InputError(
        `The state of stream ${stream} has runs for repository ${uuid} that are not an object keyed by run uuid.`,
      );
    }
    parsed.runs = {};
    for (const [runUuid, watched] of Object.entries(runs)) {
      const w = watched as Partial<WatchedRun> | null;
      if (!w || typeof w.seen !== "string" || typeof w.created !== "string" || !normaliseTimestamp(w.created)) {
        throw new InputError(`The state of stream ${stream} has an unreadable entry for run ${runUuid} of repository ${uuid}.`);
      }
      parsed.runs[runUuid] = { created: w.created, seen: w.seen };
    }
  }
  return parsed;
}
