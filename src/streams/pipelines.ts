// Stream `pipelines`: every run of every repository in scope, newest first, stopping at the
// repository's cursor; runs that were unfinished (or re-run within the look-back window) are
// emitted again when they change. The state rules live in pipeline-state.ts.
import { ApiError } from "../bitbucket/errors.js";
import { numberedPages } from "../bitbucket/paginate.js";
import { normaliseTimestamp, timestampFromMillis, timestampMillis } from "../bitbucket/timestamps.js";
import { inOrder } from "../sync/in-order.js";
import type { JsonObject } from "../protocol/messages.js";
import { laterCursor } from "./cursor.js";
import {
  MAX_UNFINISHED_AGE_DAYS,
  MAX_UNFINISHED_PER_REPOSITORY,
  describeRun,
  parsePipelinesState,
  wasUnfinished,
  type PipelinesState,
  type RepositoryRunsState,
  type WatchedRun,
} from "./pipeline-state.js";
import type { RepositoryRef } from "./repository-scope.js";
import type { ReadContext, Stream } from "./stream.js";

export const pipelines: Stream = {
  name: "pipelines",
  primaryKey: [["uuid"]],
  cursorField: "created_on",
  parseState: (state) => parsePipelinesState(state) as JsonObject,

  async *read(ctx, mode, input) {
    const previous: PipelinesState = mode === "incremental" && input ? (input as PipelinesState) : {};
    // A bare {"created_on": …} (no per-repository entries) applies to every repository.
    const shared: RepositoryRunsState = !previous.repositories && previous.created_on ? { created_on: previous.created_on } : {};
    const repos = await ctx.scope.list();
    // Entries of repositories not read yet are carried as they were, so a STATE printed mid-way
    // never sends them back to the start. Repositories out of scope are dropped.
    const next: Record<string, RepositoryRunsState> = {};
    for (const repo of repos) next[repo.uuid] = previous.repositories?.[repo.uuid] ?? shared;
    const polled = repos.filter((repo) => isDue(ctx, repo, next[repo.uuid]!));
    if (polled.length < repos.length) {
      ctx.log("INFO", `Polling ${polled.length} of ${repos.length} repositories: the others are idle (idle_repository_poll_hours = ${ctx.config.idleRepositoryPollHours}).`);
    }
    let newest = previous.created_on;
    const state = (): JsonObject => ({ ...(newest ? { created_on: newest } : {}), repositories: next });
    const checkpoints = new CheckpointPacer(polled.length);
    const progress = new Progress(ctx, polled.length);

    const walks = polled.map((repo) => () => readRepository(ctx, repo, next[repo.uuid]!));
    let index = 0;
    for await (const output of inOrder(walks, ctx.config.concurrency, 2 * ctx.config.pageSize)) {
      if ("item" in output) {
        if (typeof output.item === "number") {
          progress.sized(output.item);
          continue;
        }
        yield { record: output.item };
        continue;
      }
      const repo = polled[index++]!;
      const after = ctx.config.idleRepositoryPollHours > 0 ? { ...output.done, polled_at: timestampFromMillis(ctx.now()) } : output.done;
      next[repo.uuid] = after;
      newest = laterCursor(newest, after.created_on);
      const estimate = progress.repositoryDone();
      if (estimate !== undefined) yield { estimate };
      if (checkpoints.repositoryDone()) yield { checkpoint: state() };
    }
    yield { checkpoint: state() };
  },
};

/** With idle_repository_poll_hours, skip repositories with nothing to expect (see the config). */
function isDue(ctx: ReadContext, repo: RepositoryRef, entry: RepositoryRunsState): boolean {
  const hours = ctx.config.idleRepositoryPollHours;
  if (hours === 0 || !entry.polled_at || entry.created_on === undefined) return true;
  if (Object.values(entry.runs ?? {}).some(wasUnfinished)) return true;
  const polledAt = normaliseTimestamp(entry.polled_at) ?? "";
  if (repo.updatedOn === undefined || repo.updatedOn > polledAt) return true;
  return timestampMillis(polledAt) <= ctx.now() - hours * 3_600_000;
}

/**
 * One repository: walk runs newest first down to the cursor (or to the look-back window, if
 * older), then fetch by uuid the watched unfinished runs the walk did not reach. Yields records;
 * returns the repository's next state entry.
 */
async function* readRepository(
  ctx: ReadContext,
  repo: RepositoryRef,
  before: RepositoryRunsState,
): AsyncGenerator<JsonObject | number, RepositoryRunsState> {
  const { config, client } = ctx;
  const now = ctx.now();
  const cursor = before.created_on ? normaliseTimestamp(before.created_on) : undefined;
  const lookbackFloor = timestampFromMillis(now - config.lookbackHours * 3_600_000);
  const unfinishedFloor = timestampFromMillis(now - MAX_UNFINISHED_AGE_DAYS * 86_400_000);
  const start = config.startDate;
  const walkUntil = cursor === undefined ? start : maxOf(minOf(cursor, lookbackFloor), start);
  const watched = before.runs ?? {};
  const reached = new Set<string>();
  const nextRuns: Record<string, WatchedRun> = {};
  let newest = before.created_on;
  // The parsed object is ours alone: extending it in place spares a copy per run.
  const decorate = (raw: unknown): JsonObject =>
    Object.assign(raw as JsonObject, { repository_uuid: repo.uuid, repository_full_name: repo.full_name });

  // Pages shift down by one when a run arrives mid-walk: skip what an earlier page showed.
  const boundary = { oldest: undefined as string | undefined, uuids: new Set<string>() };
  const path = `/repositories/${encodeURIComponent(config.workspace)}/${encodeURIComponent(repo.slug)}/pipelines`;
  const pages = numberedPages(client, path, { sort: "-created_on" }, config.pageSize, [404]);
  let step = await pages.next();
  for (let first = true; !step.done; step = await pages.next(), first = false) {
    if (first && step.value.size !== undefined) yield step.value.size;
    let reachedEnd = false;
    for (const raw of step.value.values) {
      const run = describeRun(raw);
      if (!run) {
        ctx.log("WARN", `Skipped a run without a uuid in ${repo.full_name}.`);
        continue;
      }
      const created = run.createdOn;
      if (created !== undefined && boundary.oldest !== undefined) {
        if (created > boundary.oldest || (created === boundary.oldest && boundary.uuids.has(run.uuid))) continue;
      }
      if (created !== undefined) {
        if (created !== boundary.oldest) boundary.uuids.clear();
        boundary.oldest = created;
        boundary.uuids.add(run.uuid);
      }
      if (created !== undefined && start !== undefined && created < start) {
        reachedEnd = true;
        continue;
      }
      if (created !== undefined && walkUntil !== undefined && created <= walkUntil) reachedEnd = true;

      const isNew = cursor === undefined || created === undefined || created > cursor;
      const last = watched[run.uuid];
      if (last) reached.add(run.uuid);
      if (isNew || (last !== undefined && last.seen !== run.fingerprint)) yield decorate(raw);
      if (isNew && created !== undefined) newest = laterCursor(newest, created);
      if (created !== undefined && (!run.finished || created >= lookbackFloor)) {
        nextRuns[run.uuid] = { created_on: created, seen: run.fingerprint };
      }
    }
    if (reachedEnd) {
      await pages.return(undefined);
      break;
    }
  }
  if (step.done && step.value === 404) {
    ctx.log("WARN", `Skipped ${repo.full_name}: its pipelines are not found (404: deleted, or Pipelines not enabled).`);
    return before;
  }

  // Watched unfinished runs the walk did not reach: one GET each.
  for (const [uuid, last] of Object.entries(watched)) {
    if (reached.has(uuid) || !wasUnfinished(last)) continue;
    if (last.created_on < unfinishedFloor) {
      ctx.log("WARN", `Run ${uuid} of ${repo.full_name} has been unfinished for over ${MAX_UNFINISHED_AGE_DAYS} days: no longer watched (a full refresh would pick up its end).`);
      continue;
    }
    const response = await client.get(client.url(`${path}/${encodeURIComponent(uuid)}`), [404]);
    const run = response.status === 404 ? undefined : describeRun(response.body);
    if (!run) {
      ctx.log("WARN", `Run ${uuid} of ${repo.full_name} is gone (404): no longer watched.`);
      continue;
    }
    if (run.fingerprint !== last.seen) yield decorate(response.body);
    if (!run.finished || (run.createdOn ?? "") >= lookbackFloor) {
      nextRuns[uuid] = { created_on: run.createdOn ?? last.created_on, seen: run.fingerprint };
    }
  }
  const runs = boundUnfinished(ctx, repo, nextRuns);
  return { ...(newest ? { created_on: newest } : {}), ...(Object.keys(runs).length > 0 ? { runs } : {}) };
}

function boundUnfinished(ctx: ReadContext, repo: RepositoryRef, runs: Record<string, WatchedRun>): Record<string, WatchedRun> {
  const unfinished = Object.entries(runs).filter(([, w]) => wasUnfinished(w));
  if (unfinished.length <= MAX_UNFINISHED_PER_REPOSITORY) return runs;
  unfinished.sort(([, a], [, b]) => (a.created_on < b.created_on ? -1 : 1));
  const dropped = unfinished.slice(0, unfinished.length - MAX_UNFINISHED_PER_REPOSITORY);
  for (const [uuid] of dropped) delete runs[uuid];
  ctx.log("WARN", `${repo.full_name} has more than ${MAX_UNFINISHED_PER_REPOSITORY} unfinished runs: the ${dropped.length} oldest are no longer watched.`);
  return runs;
}

const minOf = (a: string, b: string): string => (a < b ? a : b);
const maxOf = (a: string, b: string | undefined): string => (b !== undefined && b > a ? b : a);

/**
 * When to print the whole state after a repository: once a twentieth of the repositories are
 * done. The state grows with the workspace, so total STATE bytes stay linear in it (about 20
 * states), and a resumed read redoes at most a twentieth of the repositories.
 */
class CheckpointPacer {
  private repositoriesSince = 0;
  private readonly every: number;

  constructor(repositories: number) {
    this.every = Math.max(1, Math.ceil(repositories / 20));
  }

  repositoryDone(): boolean {
    if (++this.repositoriesSince < this.every) return false;
    this.repositoriesSince = 0;
    return true;
  }
}

/** Progress for hosts and people: an ESTIMATE of the stream's rows, and a LOG every 30 s. */
class Progress {
  private repositoriesDone = 0;
  private sizeSum = 0;
  private sizedRepositories = 0;
  private lastLog: number;

  constructor(
    private readonly ctx: ReadContext,
    private readonly repositories: number,
  ) {
    this.lastLog = ctx.now();
  }

  /** A repository's first page said how many runs it has. */
  sized(size: number): void {
    this.sizeSum += size;
    this.sizedRepositories++;
  }

  /** Returns an estimate of the stream's total rows when it is time to publish one. */
  repositoryDone(): number | undefined {
    this.repositoriesDone++;
    const now = this.ctx.now();
    if (this.repositoriesDone !== 1 && this.repositoriesDone !== this.repositories && now - this.lastLog < 30_000) return undefined;
    this.lastLog = now;
    const average = this.sizedRepositories > 0 ? this.sizeSum / this.sizedRepositories : 0;
    const estimate = Math.round(this.sizeSum + average * (this.repositories - this.sizedRepositories));
    const client = this.ctx.client;
    this.ctx.log(
      "INFO",
      `pipelines: ${this.repositoriesDone}/${this.repositories} repositories read, ${client.requestCount} requests made, about ${client.requestsLeftThisHour()} left in this hour's budget.`,
    );
    return estimate;
  }
}
