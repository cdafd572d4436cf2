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
import { InputError } from "../errors.js";
import type { JsonObject } from "../protocol/messages.js";
import { cursorFrom, laterCursor } from "../streams/cursor.js";

export const MAX_UNFINISHED_AGE_DAYS = 30;
export const MAX_UNFINISHED_PER_REPOSITORY = 100;

export interface WatchedRun {
  /** The run's created_on. Not named created_on: hosts look for the cursor field by name. */
  created: string;
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
}

/** A stream's state: a newest cursor (named after the stream's cursor field) and per-repository entries. */
export interface RunsState {
  cursor?: string;
  repositories?: Record<string, RepositoryRunsState>;
}

/** A run as the tracker sees it: what identifies it, and what changes when it changes. */
export interface Run {
  uuid: string;
  /** Normalised (timestamps.ts). */
  createdOn: string | undefined;
  /** State, stage or result, and run_number (re-runs): what changes when a run changes. */
  fingerprint: string;
  finished: boolean;
  /** The API's object. */
  raw: JsonObject;
}

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

export function parseRunsState(raw: unknown, stream: string, cursorField: string): RunsState {
  const cursor = cursorFrom(raw, cursorField, stream);
  const input = raw as Record<string, unknown>;
  const state: RunsState = cursor ? { cursor } : {};
  const repositories = input.repositories;
  if (repositories === undefined || repositories === null) return state;
  if (typeof repositories !== "object" || Array.isArray(repositories)) {
    throw new InputError(
      `The state of stream ${stream} has a repositories value that is not an object keyed by repository uuid.`,
    );
  }
  state.repositories = {};
  for (const [uuid, entry] of Object.entries(repositories)) {
    const where = `${stream} (repository ${uuid})`;
    const parsed: RepositoryRunsState = {};
    const created = cursorFrom(entry, "created_on", where);
    if (created) parsed.created_on = created;
    const polledAt = cursorFrom(entry, "polled_at", where);
    if (polledAt) parsed.polled_at = polledAt;
    const partial = (entry as Record<string, unknown>).partial;
    if (partial !== undefined && partial !== null) {
      const oldest = cursorFrom(partial, "oldest", `${where}, partial`);
      const newest = cursorFrom(partial, "newest", `${where}, partial`);
      if (!oldest || !newest)
        throw new InputError(
          `The state of stream ${stream} has a partial entry for repository ${uuid} without oldest and newest.`,
        );
      parsed.partial = { oldest, newest };
    }
    const runs = (entry as Record<string, unknown>).runs;
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
    state.repositories[uuid] = parsed;
  }
  return state;
}

/** A stream's parseState: checks the shape and the cursors, keeps the state as given. */
export function runsStateParser(stream: string, cursorField: string): (state: unknown) => JsonObject {
  return (state) => {
    parseRunsState(state, stream, cursorField);
    return state as JsonObject;
  };
}

/** Whether a watched run's last fingerprint says it was unfinished. */
export function wasUnfinished(w: WatchedRun): boolean {
  return !w.seen.startsWith("COMPLETED:");
}

export interface TrackerClock {
  now: number;
  lookbackHours: number;
  startDate?: string;
  log: (message: string) => void;
}

/** One stream's view of one repository's runs during a sync. */
export class RunTracker {
  private readonly cursor: string | undefined;
  private readonly lookbackFloor: string;
  private readonly watched: Record<string, WatchedRun>;
  private readonly reached = new Set<string>();
  private readonly nextRuns: Record<string, WatchedRun> = {};
  private newest: string | undefined;
  /** The earlier pass's range of runs read, normalised. */
  private readonly partial: { oldest: string; newest: string } | undefined;
  /** created_on of the oldest run the walk has passed. */
  private walked: string | undefined;

  constructor(
    private readonly before: RepositoryRunsState,
    private readonly clock: TrackerClock,
    private readonly where: string,
  ) {
    this.cursor = before.created_on ? normaliseTimestamp(before.created_on) : undefined;
    this.lookbackFloor = timestampFromMillis(clock.now - clock.lookbackHours * 3_600_000);
    this.watched = before.runs ?? {};
    const p = before.partial;
    this.partial = p ? { oldest: normaliseTimestamp(p.oldest)!, newest: normaliseTimestamp(p.newest)! } : undefined;
    this.newest = laterCursor(before.created_on, p?.newest);
  }

  /** How far back (newest first) this stream needs the listing: undefined means all of it. */
  walkUntil(): string | undefined {
    const start = this.clock.startDate;
    if (this.cursor === undefined) return start;
    const floor = this.cursor < this.lookbackFloor ? this.cursor : this.lookbackFloor;
    return start !== undefined && start > floor ? start : floor;
  }

  /** A run from the listing, or fetched by uuid: whether the stream acts on it. */
  see(run: Run): boolean {
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
  walkedTo(created: string | undefined): void {
    if (created !== undefined) this.walked = created;
  }

  /**
   * The entry so far, for a STATE in the middle of the pass: the runs read make one range with
   * the earlier pass's, or there is nothing to save yet (undefined).
   */
  checkpoint(): RepositoryRunsState | undefined {
    const low = this.walked;
    const p = this.partial;
    if (low === undefined || this.newest === undefined || (p && low > p.newest)) return undefined;
    const unreached = Object.entries(this.watched).filter(([uuid]) => !this.reached.has(uuid));
    const runs = { ...Object.fromEntries(unreached), ...this.nextRuns };
    return {
      ...(this.before.created_on ? { created_on: this.before.created_on } : {}),
      ...(Object.keys(runs).length > 0 ? { runs } : {}),
      ...(this.before.polled_at ? { polled_at: this.before.polled_at } : {}),
      partial: { oldest: p && p.oldest < low ? p.oldest : low, newest: this.newest },
    };
  }

  /** Watched unfinished runs the listing did not reach: to fetch by uuid (old ones are dropped). */
  unreached(): string[] {
    const unfinishedFloor = timestampFromMillis(this.clock.now - MAX_UNFINISHED_AGE_DAYS * 86_400_000);
    return Object.entries(this.watched)
      .filter(([uuid, last]) => !this.reached.has(uuid) && wasUnfinished(last))
      .filter(([uuid, last]) => {
        if (normaliseTimestamp(last.created)! >= unfinishedFloor) return true;
        this.clock.log(
          `Run ${uuid} of ${this.where} has been unfinished for over ${MAX_UNFINISHED_AGE_DAYS} days: no longer watched (a full refresh would pick up its end).`,
        );
        return false;
      })
      .map(([uuid]) => uuid);
  }

  /** The repository's entry for the next sync. */
  next(): RepositoryRunsState {
    const runs = this.nextRuns;
    const unfinished = Object.entries(runs).filter(([, w]) => wasUnfinished(w));
    if (unfinished.length > MAX_UNFINISHED_PER_REPOSITORY) {
      unfinished.sort(([, a], [, b]) => (a.created < b.created ? -1 : 1));
      const dropped = unfinished.slice(0, unfinished.length - MAX_UNFINISHED_PER_REPOSITORY);
      for (const [uuid] of dropped) delete runs[uuid];
      this.clock.log(
        `${this.where} has more than ${MAX_UNFINISHED_PER_REPOSITORY} unfinished runs: the ${dropped.length} oldest are no longer watched.`,
      );
    }
    return {
      ...(this.newest ? { created_on: this.newest } : {}),
      ...(Object.keys(runs).length > 0 ? { runs } : {}),
      ...(this.before.polled_at ? { polled_at: this.before.polled_at } : {}),
    };
  }
}
