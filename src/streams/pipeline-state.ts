// The pipelines stream's state, and the pure rules around it.
//
// Runs have no updated_on (API notes, quirk 5): a created_on cursor alone would never see a run
// finish, nor a "Rerun failed steps" (same uuid and created_on, higher run_number). So each
// repository's entry also remembers the runs still worth watching, with what was last emitted
// of each (its "seen" fingerprint):
//   - every run that was not finished, for at most MAX_UNFINISHED_AGE_DAYS (then it is dropped
//     with a WARN log: a run PAUSED for months is not fetched at every sync forever), and at most
//     MAX_UNFINISHED_PER_REPOSITORY of them (the newest);
//   - finished runs created within the look-back window (config lookback_hours).
import { normaliseTimestamp } from "../bitbucket/timestamps.js";
import { InputError } from "../errors.js";
import { cursorFrom } from "./cursor.js";

export const MAX_UNFINISHED_AGE_DAYS = 30;
export const MAX_UNFINISHED_PER_REPOSITORY = 100;

export interface WatchedRun {
  created_on: string;
  seen: string;
}

export interface RepositoryRunsState {
  /** created_on of the newest run emitted for this repository. */
  created_on?: string;
  runs?: Record<string, WatchedRun>;
  /** When this repository was last asked for runs (only with idle_repository_poll_hours). */
  polled_at?: string;
}

export interface PipelinesState {
  /** The newest created_on over all repositories (what hosts show as "the cursor"). */
  created_on?: string;
  /** Per repository, keyed by repository uuid (stable across renames). */
  repositories?: Record<string, RepositoryRunsState>;
}

export interface Run {
  uuid: string;
  createdOn: string | undefined;
  fingerprint: string;
  finished: boolean;
}

/** What changes when a run changes: state, stage or result, and run_number (re-runs). */
export function describeRun(raw: unknown): Run | undefined {
  const run = raw as {
    uuid?: unknown;
    created_on?: unknown;
    run_number?: unknown;
    state?: { name?: unknown; stage?: { name?: unknown }; result?: { name?: unknown } };
  } | null;
  if (!run || typeof run.uuid !== "string") return undefined;
  const state = typeof run.state?.name === "string" ? run.state.name : "UNKNOWN";
  const detail = run.state?.result?.name ?? run.state?.stage?.name ?? "";
  return {
    uuid: run.uuid,
    createdOn: typeof run.created_on === "string" ? normaliseTimestamp(run.created_on) : undefined,
    fingerprint: `${state}:${typeof detail === "string" ? detail : ""}:${typeof run.run_number === "number" ? run.run_number : ""}`,
    finished: state === "COMPLETED",
  };
}

export function parsePipelinesState(raw: unknown): PipelinesState {
  const createdOn = cursorFrom(raw, "created_on", "pipelines");
  const input = raw as Record<string, unknown>;
  const state: PipelinesState = createdOn ? { created_on: createdOn } : {};
  const repositories = input.repositories;
  if (repositories === undefined || repositories === null) return state;
  if (typeof repositories !== "object" || Array.isArray(repositories)) {
    throw new InputError("The state of stream pipelines has a repositories value that is not an object keyed by repository uuid.");
  }
  state.repositories = {};
  for (const [uuid, entry] of Object.entries(repositories)) {
    const cursor = cursorFrom(entry, "created_on", `pipelines (repository ${uuid})`);
    const runs = (entry as Record<string, unknown>).runs;
    const parsed: RepositoryRunsState = cursor ? { created_on: cursor } : {};
    const polledAt = cursorFrom(entry, "polled_at", `pipelines (repository ${uuid})`);
    if (polledAt) parsed.polled_at = polledAt;
    if (runs !== undefined && runs !== null) {
      if (typeof runs !== "object" || Array.isArray(runs)) {
        throw new InputError(`The state of stream pipelines has runs for repository ${uuid} that are not an object keyed by run uuid.`);
      }
      parsed.runs = {};
      for (const [runUuid, watched] of Object.entries(runs)) {
        const w = watched as Partial<WatchedRun> | null;
        if (!w || typeof w.seen !== "string" || typeof w.created_on !== "string" || !normaliseTimestamp(w.created_on)) {
          throw new InputError(`The state of stream pipelines has an unreadable entry for run ${runUuid} of repository ${uuid}.`);
        }
        parsed.runs[runUuid] = { created_on: w.created_on, seen: w.seen };
      }
    }
    state.repositories[uuid] = parsed;
  }
  return state;
}

/** Whether a watched run's last emitted fingerprint says it was unfinished. */
export function wasUnfinished(w: WatchedRun): boolean {
  return !w.seen.startsWith("COMPLETED:");
}
