// Which runs a stream must act on in one repository, and what it remembers for next time.
//
// Runs have no updated_on (API notes, quirk 5): a created_on cursor alone would never see a run
// finish, nor a "Rerun failed steps" (same uuid and created_on, higher run_number). So each
// stream's entry for a repository also remembers the runs still worth watching, with what it
// last saw of each (a "seen" fingerprint):
//   - every run that was not finished, for at most MAX_UNFINISHED_AGE_DAYS (then it is dropped
//     with a WARN log: a run PAUSED for months is not fetched at every sync forever), and at most
//     MAX_UNFINISHED_PER_REPOSITORY of them (the newest);
//   - finished runs created within the look-back window (config lookback_hours).
// A run is acted on when it is newer than the cursor, or watched and changed.
import { normaliseTimestamp, timestampFromMillis } from "../bitbucket/timestamps.js";
import type { JsonObject } from "../protocol/messages.js";
import { laterCursor } from "../streams/cursor.js";
import type { Run } from "../streams/stream.js";
import { type RepositoryRunsState, type WatchedRun, wasUnfinished } from "./run-state.js";

export const MAX_UNFINISHED_AGE_DAYS = 30;
export const MAX_UNFINISHED_PER_REPOSITORY = 100;

/** A run of the API (from a listing or fetched by uuid), or undefined when it has no uuid. */
export function describeRun(raw: unknown): Run | undefined {
  if (!raw || typeof raw !== "object") return undefined;
  const object = raw as JsonObject;
  const { uuid, created_on: created, run_number: runNumber } = object;
  if (typeof uuid !== "string") return undefined;
  const state = object.state as { name?: unknown; stage?: { name?: unknown }; result?: { name?: unknown } } | null;
  const name = typeof state?.name === "string" ? state.name : "UNKNOWN";
  const detail = state?.result?.name ?? state?.stage?.name ?? "";
  return {
    uuid,
    createdOn: typeof created === "string" ? normaliseTimestamp(created) : undefined,
    fingerprint: `${name}:${typeof detail === "string" ? detail : ""}:${typeof runNumber === "number" ? runNumber : ""}`,
    finished: name === "COMPLETED",
    raw: object,
  };
}

/** What a tracker needs to know of the sync: its start time and the config's windows. */
export interface TrackerSettings {
  /** The sync's start, in milliseconds. */
  startedAt: number;
  lookbackHours: number;
  startDate?: string;
  warn: (message: string) => void;
}

/** One stream's view of one repository's runs during a sync. */
export class RunTracker {
  private readonly cursor: string | undefined;
  private readonly lookbackFloor: string;
  private readonly watched: Record<string, WatchedRun>;
  /** Watched runs met in this pass. */
  private readonly reached = new Set<string>();
  private readonly nextRuns: Record<string, WatchedRun> = {};
  private newest: string | undefined;
  /** The earlier pass's range of runs read, normalised. */
  private readonly partial: { oldest: string; newest: string } | undefined;
  /** created_on of the oldest run the walk has passed. */
  private walked: string | undefined;

  constructor(
    private readonly before: RepositoryRunsState,
    private readonly settings: TrackerSettings,
    private readonly repository: string,
  ) {
    this.cursor = before.created_on ? normaliseTimestamp(before.created_on) : undefined;
    this.lookbackFloor = timestampFromMillis(settings.startedAt - settings.lookbackHours * 3_600_000);
    this.watched = before.runs ?? {};
    const p = before.partial;
    this.partial = p ? { oldest: normaliseTimestamp(p.oldest)!, newest: normaliseTimestamp(p.newest)! } : undefined;
    this.newest = laterCursor(before.created_on, p?.newest);
  }

  /** How far back (newest first) this stream needs the runs listing: undefined means all of it. */
  oldestNeeded(): string | undefined {
    const start = this.settings.startDate;
    if (this.cursor === undefined) return start;
    const floor = this.cursor < this.lookbackFloor ? this.cursor : this.lookbackFloor;
    return start !== undefined && start > floor ? start : floor;
  }

  /**
   * Notes a run from the listing or fetched by uuid, for the next state, and says whether the
   * stream acts on it: new since the cursor, or watched and changed.
   */
  actsOn(run: Run): boolean {
    const created = run.createdOn;
    const last = this.watched[run.uuid];
    if (last) this.reached.add(run.uuid);
    const p = this.partial;
    const readBefore = p !== undefined && created !== undefined && created > p.oldest && created <= p.newest;
    const isNew = !readBefore && (this.cursor === undefined || created === undefined || created > this.cursor);
    if (isNew && created !== undefined) this.newest = laterCursor(this.newest, created);
    if (created !== undefined && (!run.finished || created >= this.lookbackFloor)) {
      this.nextRuns[run.uuid] = { created, seen: run.fingerprint };
    }
    return isNew || (last !== undefined && last.seen !== run.fingerprint);
  }

  /** The walk has passed every run down to this created_on (the oldest of the page just read). */
  walkedDownTo(created: string | undefined): void {
    if (created !== undefined) this.walked = created;
  }

  /**
   * The entry so far, for a STATE in the middle of the pass: the runs read make one range with
   * the earlier pass's, or there is nothing to save yet (undefined).
   */
  partialEntry(): RepositoryRunsState | undefined {
    const low = this.walked;
    const p = this.partial;
    if (low === undefined || this.newest === undefined || (p && low > p.newest)) return undefined;
    const unreached = Object.entries(this.watched).filter(([uuid]) => !this.reached.has(uuid));
    const runs = { ...Object.fromEntries(unreached), ...this.nextRuns };
    return {
      ...(this.before.created_on ? { created_on: this.before.created_on } : {}),
      ...(Object.keys(runs).length > 0 ? { runs } : {}),
      ...(this.before.polled_at ? { polled_at: this.before.polled_at } : {}),
      ...(this.before.memory ? { memory: this.before.memory } : {}),
      partial: { oldest: p && p.oldest < low ? p.oldest : low, newest: this.newest },
    };
  }

  /** Watched unfinished runs the listing did not reach: to fetch by uuid (old ones are dropped). */
  watchedNotReached(): string[] {
    const unfinishedFloor = timestampFromMillis(this.settings.startedAt - MAX_UNFINISHED_AGE_DAYS * 86_400_000);
    return Object.entries(this.watched)
      .filter(([uuid, last]) => !this.reached.has(uuid) && wasUnfinished(last))
      .filter(([uuid, last]) => {
        if (normaliseTimestamp(last.created)! >= unfinishedFloor) return true;
        this.settings.warn(
          `Run ${uuid} of ${this.repository} has been unfinished for over ${MAX_UNFINISHED_AGE_DAYS} days: no longer watched (a full refresh would pick up its end).`,
        );
        return false;
      })
      .map(([uuid]) => uuid);
  }

  /** The repository's entry for the next sync. */
  nextEntry(): RepositoryRunsState {
    const runs = this.nextRuns;
    const unfinished = Object.entries(runs).filter(([, w]) => wasUnfinished(w));
    if (unfinished.length > MAX_UNFINISHED_PER_REPOSITORY) {
      unfinished.sort(([, a], [, b]) => (a.created < b.created ? -1 : 1));
      const dropped = unfinished.slice(0, unfinished.length - MAX_UNFINISHED_PER_REPOSITORY);
      for (const [uuid] of dropped) delete runs[uuid];
      this.settings.warn(
        `${this.repository} has more than ${MAX_UNFINISHED_PER_REPOSITORY} unfinished runs: the ${dropped.length} oldest are no longer watched.`,
      );
    }
    return {
      ...(this.newest ? { created_on: this.newest } : {}),
      ...(Object.keys(runs).length > 0 ? { runs } : {}),
      ...(this.before.polled_at ? { polled_at: this.before.polled_at } : {}),
    };
  }
}
