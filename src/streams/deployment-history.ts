// What the deployment streams remember of a repository between syncs, per environment: its
// recent successful deployments (to find the one before a new one: the commits in between are
// what the new one shipped) and the failed production deployments not yet followed by a success
// (to give their time to restore when one comes). A sync sees only the deployments of runs that
// changed since the last one, so without this the previous deployment would be unknown.
import { normaliseTimestamp, secondsBetween } from "../bitbucket/timestamps.js";
import { InputError } from "../errors.js";
import type { JsonObject } from "../protocol/messages.js";

interface Success {
  id: string;
  commit: string | null;
  /** completed_on, normalised. */
  at: string;
}

interface EnvironmentHistory {
  /** Oldest first. */
  successes: Success[];
  /** The failed deployments' records, as emitted. */
  unrestored: JsonObject[];
}

/** Enough to place a late-finishing deployment among the recent ones. */
const KEEP_SUCCESSES = 20;
const KEEP_UNRESTORED = 50;

const FAILED_STATUSES = new Set(["FAILED", "ERROR"]);

/** A deployment's environment: its Bitbucket uuid, or the name a rule gives. */
const environmentKey = (record: JsonObject): string =>
  typeof record.environment_uuid === "string" ? record.environment_uuid : `name:${String(record.environment)}`;

const finishedAt = (record: JsonObject): string | undefined =>
  typeof record.completed_on === "string" ? normaliseTimestamp(record.completed_on) : undefined;

export class DeploymentHistory {
  private readonly environments: Record<string, EnvironmentHistory>;

  /** `memory`: what toJson() gave at the end of the last sync (undefined at the first). */
  constructor(memory: JsonObject | undefined, stream: string) {
    this.environments = parseMemory(memory, stream);
  }

  /**
   * Takes the pass's deployment records in order of completion. For each successful deployment
   * not seen before: the previous successful one to the same environment (null when there is
   * none). Sets restored_after_seconds on every record (null unless a failed production
   * deployment was followed by a success), and returns the failed records of earlier syncs that
   * a success in this one restores, to emit again.
   */
  apply(records: JsonObject[]): { previous: Map<string, Success | null>; restored: JsonObject[] } {
    const previous = new Map<string, Success | null>();
    const restored: JsonObject[] = [];
    const thisPass = new Map(records.map((r) => [r.id, r]));
    for (const record of records) record.restored_after_seconds = null;
    // A failure remembered from an earlier sync and emitted again in this one (its run changed):
    // the record emitted now is the one a later success restores (the destination keeps the last
    // record of an id); one that is no longer a failure (a re-run under the same id) has nothing to restore.
    for (const env of Object.values(this.environments)) {
      env.unrestored = env.unrestored.flatMap((f) => {
        const now = thisPass.get(f.id);
        if (!now) return [f];
        return FAILED_STATUSES.has(String(now.status)) && finishedAt(now) !== undefined ? [now] : [];
      });
    }
    const finished = records.filter((r) => finishedAt(r) !== undefined);
    finished.sort((a, b) => (finishedAt(a)! < finishedAt(b)! ? -1 : 1));
    for (const record of finished) {
      const at = finishedAt(record)!;
      const id = String(record.id);
      const key = environmentKey(record);
      this.environments[key] ??= { successes: [], unrestored: [] };
      const env = this.environments[key];
      if (record.status === "SUCCESSFUL") {
        if (env.successes.some((s) => s.id === id)) continue;
        const before = env.successes.filter((s) => s.at < at);
        previous.set(id, before.at(-1) ?? null);
        env.successes.splice(before.length, 0, {
          id,
          commit: typeof record.commit_hash === "string" ? record.commit_hash : null,
          at,
        });
        if (env.successes.length > KEEP_SUCCESSES) env.successes.shift();
        for (const failed of env.unrestored.filter((f) => finishedAt(f)! < at)) {
          failed.restored_after_seconds = secondsBetween(failed.completed_on as string, record.completed_on as string);
          if (!thisPass.has(failed.id)) restored.push(failed);
        }
        env.unrestored = env.unrestored.filter((f) => finishedAt(f)! >= at);
      } else if (FAILED_STATUSES.has(String(record.status)) && record.environment_type === "production") {
        if (env.unrestored.some((f) => f.id === id)) continue;
        const next = env.successes.find((s) => s.at > at);
        if (next) {
          record.restored_after_seconds = secondsBetween(record.completed_on as string, next.at);
          continue;
        }
        env.unrestored.push(record);
        if (env.unrestored.length > KEEP_UNRESTORED) env.unrestored.shift();
      }
    }
    return { previous, restored };
  }

  toJson(): JsonObject {
    return { environments: this.environments };
  }
}

function parseMemory(memory: JsonObject | undefined, stream: string): Record<string, EnvironmentHistory> {
  const environments = memory?.environments;
  if (environments === undefined) return {};
  const bad = () =>
    new InputError(`The state of stream ${stream} has a memory entry that is not what this connector writes: reset the stream.`);
  if (typeof environments !== "object" || environments === null || Array.isArray(environments)) throw bad();
  const parsed: Record<string, EnvironmentHistory> = {};
  for (const [key, value] of Object.entries(environments)) {
    const env = value as Partial<EnvironmentHistory> | null;
    if (!env || !Array.isArray(env.successes) || !Array.isArray(env.unrestored)) throw bad();
    for (const s of env.successes) {
      if (typeof s?.id !== "string" || typeof s.at !== "string" || !normaliseTimestamp(s.at)) throw bad();
    }
    for (const f of env.unrestored) if (typeof f?.id !== "string" || !finishedAt(f)) throw bad();
    parsed[key] = { successes: env.successes, unrestored: env.unrestored };
  }
  return parsed;
}
