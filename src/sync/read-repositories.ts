// Every repository in scope, for the repository streams of the catalog: passes run
// concurrently (config concurrency) and their outputs come out in repository order; STATE goes
// out about 20 times a sync and inside a large repository; a repository that fails on the API's
// side is left for the next sync while the others are read; with idle_repository_poll_hours,
// repositories with nothing to expect are not asked for runs.
import { normaliseTimestamp, timestampMillis } from "../bitbucket/timestamps.js";
import { ConnectorError } from "../errors.js";
import type { JsonObject } from "../protocol/messages.js";
import { laterCursor } from "../streams/cursor.js";
import type { RepositoryRef } from "../streams/repository-scope.js";
import type { ReadContext, RepositoryStream, SyncMode } from "../streams/stream.js";
import { inOrder } from "./in-order.js";
import { Progress } from "./progress.js";
import type { TaggedOutput } from "./read-stream.js";
import { type PassEnd, type PassMember, readRepository } from "./repository-pass.js";
import { emptyRunsState, type RepositoryRunsState, type RunsState, runsStateToJson, wasUnfinished } from "./run-state.js";

export interface ConfiguredRepositoryStream {
  stream: RepositoryStream;
  mode: SyncMode;
  /** The input state of a stream that follows runs. */
  state: RunsState | undefined;
}

export async function* readRepositoryStreams(
  ctx: ReadContext,
  group: ConfiguredRepositoryStream[],
): AsyncGenerator<TaggedOutput> {
  const repos = await ctx.scope.list();
  // Following streams' states as they go: entries of repositories not read yet are carried as
  // they were, so a STATE printed mid-way never sends them back to the start; repositories out
  // of scope are dropped.
  const following = new Map<string, { stream: RepositoryStream; state: RunsState }>();
  for (const { stream, mode, state } of group) {
    if (!stream.followsRuns) continue;
    const previous = mode === "incremental" && state ? state : emptyRunsState();
    const current: RunsState = { ...(previous.cursor ? { cursor: previous.cursor } : {}), repositories: {}, fallback: {} };
    for (const repo of repos) current.repositories[repo.uuid] = previous.repositories[repo.uuid] ?? previous.fallback;
    following.set(stream.name, { stream, state: current });
  }
  const streams = group.map((g) => g.stream);
  // A stream that does not follow runs (environments) is read in every repository at every sync:
  // in an idle repository, for that stream alone.
  const fullRefresh = streams.filter((s) => !s.followsRuns);
  const passes = repos.flatMap((repo) => {
    const due = following.size === 0 || [...following.values()].some((f) => isDue(ctx, repo, f.state.repositories[repo.uuid]!));
    if (!due && fullRefresh.length === 0) return [];
    return [{ repo, streams: due ? streams : fullRefresh }];
  });
  const polled = passes.filter((p) => p.streams.length === streams.length).length;
  if (polled < repos.length) {
    ctx.log(
      "INFO",
      `Polling ${polled} of ${repos.length} repositories for runs: the others are idle (idle_repository_poll_hours = ${ctx.config.idleRepositoryPollHours}).`,
    );
  }
  const stateOf = ({ stream, state }: { stream: RepositoryStream; state: RunsState }): JsonObject =>
    runsStateToJson(stream.cursorField!, state);
  const checkpoints = function* (): Generator<TaggedOutput> {
    for (const f of following.values()) yield { stream: f.stream.name, checkpoint: stateOf(f) };
  };
  const estimated = streams.filter((s) => s.recordPerRun).map((s) => s.name);
  const estimates = function* (rows: number | undefined): Generator<TaggedOutput> {
    if (rows !== undefined) for (const stream of estimated) yield { stream, estimate: rows };
  };
  const checkpointEvery = Math.max(1, Math.ceil(passes.length / 20));
  const progress = new Progress(ctx, passes.length);
  const entriesOf = (repo: RepositoryRef, read: RepositoryStream[]): PassMember[] =>
    read.map((stream) => ({ stream, entry: following.get(stream.name)?.state.repositories[repo.uuid] }));
  const producers = passes.map(
    ({ repo, streams: read }) =>
      () =>
        isolated(readRepository(ctx, repo, entriesOf(repo, read))),
  );
  const update = (repo: RepositoryRef, entries: Record<string, RepositoryRunsState>, moveCursor: boolean): void => {
    for (const [name, entry] of Object.entries(entries)) {
      const { state } = following.get(name)!;
      state.repositories[repo.uuid] = entry;
      if (moveCursor) state.cursor = laterCursor(state.cursor, entry.created_on);
    }
  };

  let index = 0;
  const failed: { repo: RepositoryRef; error: ConnectorError }[] = [];
  const skipped: string[] = [];
  // Each repository may run two batches (pages) ahead of the output.
  for await (const output of inOrder(producers, ctx.config.concurrency, 2)) {
    if ("item" in output) {
      const item = output.item;
      if ("runCount" in item) yield* estimates(progress.sized(item.runCount));
      else if ("records" in item) yield item;
      else {
        // A large repository part read: its entries so far, and a STATE (its records are out).
        update(passes[index]!.repo, item.partial, false);
        yield* checkpoints();
      }
      continue;
    }
    const { repo } = passes[index++]!;
    const end = output.done;
    if ("failed" in end) {
      failed.push({ repo, error: end.failed });
      ctx.log(
        "WARN",
        `Stopped reading ${repo.full_name} for this sync: ${end.failed.message} Its state is unchanged, so the next sync reads it again; the other repositories go on.`,
      );
    } else {
      if (end.skipped) skipped.push(end.skipped);
      update(repo, end.entries, true);
    }
    yield* estimates(progress.repositoryDone());
    // A stream that does not follow runs gets one STATE, at the end (two equal states with
    // records between them would break the platform's rule).
    if (index % checkpointEvery === 0 && index < passes.length) yield* checkpoints();
  }
  yield* checkpoints();
  for (const stream of fullRefresh) yield { stream: stream.name, checkpoint: {} };
  // Only when every repository in scope was skipped: with idle polling, a push to one repository
  // without Pipelines while the others are idle (read before, nothing new) is that repository's WARN.
  if (skipped.length > 0 && skipped.length === repos.length) {
    throw new ConnectorError(
      `Every repository polled for runs (${polled}) was skipped, so this sync read no runs at all. The first: ${skipped[0]} Check that the credentials can read these repositories' Pipelines and that Pipelines is enabled; the state was kept, so nothing is lost.`,
      "no_resources",
    );
  }
  if (failed.length > 0) {
    const [first] = failed;
    throw new ConnectorError(
      `${failed.length} of ${passes.length} repositories could not be read in full (${failed.map((f) => f.repo.full_name).join(", ")}); the others were. ${first!.error.message}`,
      first!.error.kind,
    );
  }
}

/** A failure the error table says to skip the repository for (src/errors.ts) ends its pass, not the sync. */
async function* isolated<T>(pass: AsyncGenerator<T, PassEnd>): AsyncGenerator<T, PassEnd | { failed: ConnectorError }> {
  try {
    return yield* pass;
  } catch (error) {
    if (error instanceof ConnectorError && error.action === "skip_repository") return { failed: error };
    throw error;
  }
}

/** With idle_repository_poll_hours, skip repositories with nothing to expect (see the config). */
function isDue(ctx: ReadContext, repo: RepositoryRef, entry: RepositoryRunsState): boolean {
  const hours = ctx.config.idleRepositoryPollHours;
  // A repository that has never had a run is idle like any other: real workspaces have many.
  if (hours === 0 || !entry.polled_at || entry.partial) return true;
  if (Object.values(entry.runs ?? {}).some(wasUnfinished)) return true;
  const polledAt = normaliseTimestamp(entry.polled_at) ?? "";
  if (repo.updatedOn === undefined || repo.updatedOn > polledAt) return true;
  return timestampMillis(polledAt) <= ctx.now() - hours * 3_600_000;
}
