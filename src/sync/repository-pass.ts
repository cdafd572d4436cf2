// One pass over each repository in scope, shared by every repository stream of the catalog:
// the runs listing is walked once (newest first, down to the oldest cursor any stream needs),
// each stream's RunTracker says which runs it acts on, watched unfinished runs are fetched by
// uuid once, and per-repository lookups (environments, deployments, steps) are fetched at most
// once. Repositories are read concurrently; their outputs come out in repository order.

import { errorMessageOf } from "../bitbucket/errors.js";
import { numberedPages } from "../bitbucket/paginate.js";
import { normaliseTimestamp, timestampFromMillis, timestampMillis } from "../bitbucket/timestamps.js";
import { ConnectorError } from "../errors.js";
import type { JsonObject } from "../protocol/messages.js";
import { laterCursor } from "../streams/cursor.js";
import { type RepositoryRef, repositoryPath } from "../streams/repository-scope.js";
import type { ReadContext, RepositoryStream, SyncMode } from "../streams/stream.js";
import { inOrder } from "./in-order.js";
import type { TaggedOutput } from "./read-stream.js";
import { describeRun, type RepositoryRunsState, type Run, type RunsState, RunTracker, wasUnfinished } from "./run-tracker.js";

export interface ConfiguredRepositoryStream {
  stream: RepositoryStream;
  mode: SyncMode;
  state: JsonObject | undefined;
}

/** Per-repository lookups, each fetched at most once per pass. */
export class RepositoryPass {
  private readonly memo = new Map<string, Promise<unknown>>();

  constructor(
    readonly ctx: ReadContext,
    readonly repo: RepositoryRef,
  ) {}

  path(suffix = ""): string {
    return repositoryPath(this.ctx.config, this.repo.slug, suffix);
  }

  /** Every item of a paged listing under the repository, or [] when it answers 404. */
  list(suffix: string, query: Record<string, string | number | undefined> = {}): Promise<unknown[]> {
    return this.once(`list ${suffix}`, async () => {
      const items: unknown[] = [];
      const pages = numberedPages(this.ctx.client, this.path(suffix), query, 100, [404]);
      for await (const page of pages) items.push(...page.values);
      return items;
    }) as Promise<unknown[]>;
  }

  /** The items of a paged listing under the repository as its pages come, kept nowhere; none on a 404. */
  async *each(suffix: string, query: Record<string, string | number | undefined> = {}): AsyncGenerator<unknown> {
    for await (const page of numberedPages(this.ctx.client, this.path(suffix), query, 100, [404])) yield* page.values;
  }

  /** One run by uuid; undefined when it is gone (404). */
  run(uuid: string): Promise<Run | undefined> {
    return this.once(`run ${uuid}`, async () => {
      const { client } = this.ctx;
      const response = await client.get(client.url(this.path(`/pipelines/${encodeURIComponent(uuid)}`)), [404]);
      return response.status === 404 ? undefined : describeRun(response.body);
    }) as Promise<Run | undefined>;
  }

  private once(key: string, load: () => Promise<unknown>): Promise<unknown> {
    let value = this.memo.get(key);
    if (!value) {
      value = load();
      this.memo.set(key, value);
    }
    return value;
  }
}

export async function* readRepositoryStreams(
  ctx: ReadContext,
  group: ConfiguredRepositoryStream[],
): AsyncGenerator<TaggedOutput> {
  const repos = await ctx.scope.list();
  const streams = group.map(({ stream, mode, state }) => {
    const previous: RunsState = mode === "incremental" && state && stream.followsRuns ? toRunsState(state, stream) : {};
    // A bare {"<cursor>": …} (no per-repository entries) applies to every repository.
    const shared: RepositoryRunsState = !previous.repositories && previous.cursor ? { created_on: previous.cursor } : {};
    // Entries of repositories not read yet are carried as they were, so a STATE printed mid-way
    // never sends them back to the start. Repositories out of scope are dropped.
    const entries: Record<string, RepositoryRunsState> = {};
    if (stream.followsRuns) for (const repo of repos) entries[repo.uuid] = previous.repositories?.[repo.uuid] ?? shared;
    return { stream, entries, newest: previous.cursor };
  });
  const following = streams.filter((s) => s.stream.followsRuns);
  // A full-refresh stream (environments) is read in every repository at every sync: in an idle
  // repository, for that stream alone.
  const fullRefresh = streams.filter((s) => !s.stream.followsRuns);
  const passes = repos.flatMap((repo) => {
    const due = following.length === 0 || following.some((s) => isDue(ctx, repo, s.entries[repo.uuid]!));
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
  const stateOf = (s: (typeof streams)[number]): JsonObject =>
    s.stream.followsRuns ? { ...(s.newest ? { [s.stream.cursorField!]: s.newest } : {}), repositories: s.entries } : {};
  const checkpointEvery = Math.max(1, Math.ceil(passes.length / 20));
  const progress = new Progress(ctx, passes.length);

  let index = 0;
  // Each repository may run two batches (pages) ahead of the output.
  const producers = passes.map(
    ({ repo, streams: read }) =>
      () =>
        isolated(
          readRepository(
            ctx,
            repo,
            read.map((s) => ({ stream: s.stream, entry: s.entries[repo.uuid] })),
            (why) => skipped.push(why),
          ),
        ),
  );
  const failed: { repo: RepositoryRef; error: ConnectorError }[] = [];
  const skipped: string[] = [];
  for await (const output of inOrder(producers, ctx.config.concurrency, 2)) {
    if ("item" in output) {
      const item = output.item;
      if ("size" in item) {
        const estimate = progress.sized(item.size);
        if (estimate !== undefined && streams.some((s) => s.stream.name === "pipelines")) yield { stream: "pipelines", estimate };
      } else if ("records" in item) yield { stream: item.stream, records: item.records };
      else {
        // A large repository part read: its entries so far, and a STATE (its records are out).
        const { repo, streams: read } = passes[index]!;
        read.forEach((s, i) => {
          const entry = item.partial[i];
          if (entry) s.entries[repo.uuid] = entry;
        });
        for (const s of following) yield { stream: s.stream.name, checkpoint: stateOf(s) };
      }
      continue;
    }
    const { repo, streams: read } = passes[index++]!;
    const done = output.done;
    if (!Array.isArray(done)) {
      failed.push({ repo, error: done.failed });
      ctx.log(
        "WARN",
        `Stopped reading ${repo.full_name} for this sync: ${done.failed.message} Its state is unchanged, so the next sync reads it again; the other repositories go on.`,
      );
    }
    read.forEach((s, i) => {
      const entry = Array.isArray(done) ? done[i] : undefined;
      if (!entry) return;
      s.entries[repo.uuid] = entry;
      s.newest = laterCursor(s.newest, entry.created_on);
    });
    const estimate = progress.repositoryDone();
    if (estimate !== undefined && streams.some((s) => s.stream.name === "pipelines")) yield { stream: "pipelines", estimate };
    // A full-refresh stream's state never changes: it gets one STATE, at the end (two equal
    // states with records between them would break the platform's rule).
    if (index % checkpointEvery === 0 && index < passes.length) {
      for (const s of following) yield { stream: s.stream.name, checkpoint: stateOf(s) };
    }
  }
  for (const s of streams) yield { stream: s.stream.name, checkpoint: stateOf(s) };
  if (skipped.length > 0 && skipped.length === polled) {
    throw new ConnectorError(
      `Every repository polled for runs (${polled}) was skipped, so this sync read no runs at all. The first: ${skipped[0]} Check that the credentials can read these repositories' Pipelines and that Pipelines is enabled; the state was kept, so nothing is lost.`,
      "config_error",
      "not_found",
    );
  }
  if (failed.length > 0) {
    const [first] = failed;
    throw new ConnectorError(
      `${failed.length} of ${passes.length} repositories could not be read in full (${failed.map((f) => f.repo.full_name).join(", ")}); the others were. ${first!.error.message}`,
      first!.error.failureType,
      first!.error.code,
    );
  }
}

/**
 * A repository whose pass fails on the API's side (a 5xx or a bad response past the retries) is
 * left for the next sync instead of ending the sync for every repository after it. Anything
 * else (credentials, the rate limit, stdout gone) ends the sync.
 */
async function* isolated<T, R>(pass: AsyncGenerator<T, R>): AsyncGenerator<T, R | { failed: ConnectorError }> {
  try {
    return yield* pass;
  } catch (error) {
    if (error instanceof ConnectorError && error.code === "server_error") return { failed: error };
    throw error;
  }
}

function toRunsState(state: JsonObject, stream: RepositoryStream): RunsState {
  const { [stream.cursorField!]: cursor, repositories } = state as { repositories?: RunsState["repositories"] } & Record<
    string,
    unknown
  >;
  return { ...(typeof cursor === "string" ? { cursor } : {}), ...(repositories ? { repositories } : {}) };
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

type PassItem = { stream: string; records: JsonObject[] } | { size: number } | { partial: (RepositoryRunsState | undefined)[] };

/**
 * A repository still being read gives a mid-pass checkpoint this often (of the sync's clock):
 * when requests are scarce (one per run for steps, 1,000 an hour), a large repository can take
 * hours, and a sync that stops must not start it over.
 */
const PARTIAL_CHECKPOINT_MS = 10 * 60_000;

/** Records of a stream's finish() go out in batches of this many. */
const FINISH_BATCH = 100;

/**
 * One repository for every stream of the group: walk runs newest first down to the oldest point
 * any stream needs, hand each run to the streams that act on it, fetch the watched unfinished
 * runs the walk did not reach, then let each stream finish. Returns each stream's next entry.
 */
async function* readRepository(
  ctx: ReadContext,
  repo: RepositoryRef,
  group: { stream: RepositoryStream; entry: RepositoryRunsState | undefined }[],
  skip: (why: string) => void,
): AsyncGenerator<PassItem, (RepositoryRunsState | undefined)[]> {
  const pass = new RepositoryPass(ctx, repo);
  const clock = {
    now: ctx.now(),
    lookbackHours: ctx.config.lookbackHours,
    log: (m: string) => ctx.log("WARN", m),
    ...(ctx.config.startDate ? { startDate: ctx.config.startDate } : {}),
  };
  const members = group.map(({ stream, entry }) => ({
    stream,
    reader: stream.open(pass),
    tracker: stream.followsRuns ? new RunTracker(entry ?? {}, clock, repo.full_name) : undefined,
  }));
  const followers = members.filter((m) => m.tracker);
  // With idle polling, a followed entry notes when the runs were asked for: the pass's start, not
  // when its output is written, so a push while the pass ran makes the repository due next time.
  const polledAt = ctx.config.idleRepositoryPollHours > 0 ? timestampFromMillis(clock.now) : undefined;
  const stamped = (entry: RepositoryRunsState | undefined) => (entry && polledAt ? { ...entry, polled_at: polledAt } : entry);

  /** Each stream's records of these runs: one batch, and one more per run whose records took requests. */
  async function* act(runs: Run[]): AsyncGenerator<PassItem> {
    for (const m of followers) {
      let records: JsonObject[] = [];
      for (const run of runs) {
        const made = m.tracker!.see(run) ? m.reader.onRun?.(run) : undefined;
        if (!made) continue;
        if (Array.isArray(made)) {
          records.push(...made);
          continue;
        }
        for await (const record of made) records.push(record);
        if (records.length > 0) yield { stream: m.stream.name, records };
        records = [];
      }
      if (records.length > 0) yield { stream: m.stream.name, records };
    }
  }

  if (followers.length > 0) {
    const floors = followers.map((m) => m.tracker!.walkUntil());
    const walkUntil = floors.includes(undefined) ? undefined : floors.reduce((a, b) => (a! < b! ? a : b));
    const walk = walkRuns(ctx, pass, walkUntil);
    let checkpointAt = ctx.now();
    let step = await walk.next();
    for (; !step.done; step = await walk.next()) {
      if ("size" in step.value) {
        yield step.value;
        continue;
      }
      const { runs } = step.value;
      yield* act(runs);
      for (const m of followers) m.tracker!.walkedTo(runs[runs.length - 1]?.createdOn);
      if (ctx.now() - checkpointAt >= PARTIAL_CHECKPOINT_MS) {
        checkpointAt = ctx.now();
        // Not for a stream that writes its records after the walk (deployments): they are not out yet.
        yield { partial: members.map((m) => (m.reader.finish ? undefined : m.tracker?.checkpoint())) };
      }
    }
    if (typeof step.value === "object") {
      const said = step.value.notFound ? ` Bitbucket said: "${step.value.notFound}".` : "";
      const why = `${repo.full_name}'s pipelines answered 404 (deleted, or Pipelines not enabled).${said}`;
      ctx.log("WARN", `Skipped ${why}`);
      skip(why);
      return group.map((g) => stamped(g.entry));
    }
    const unreached = new Set(followers.flatMap((m) => m.tracker!.unreached()));
    for (const uuid of unreached) {
      const run = await pass.run(uuid);
      if (!run) {
        ctx.log("WARN", `Run ${uuid} of ${repo.full_name} is gone (404): no longer watched.`);
        continue;
      }
      yield* act([run]);
    }
  }
  for (const m of members) {
    if (!m.reader.finish) continue;
    let records: JsonObject[] = [];
    for await (const record of m.reader.finish()) {
      records.push(record);
      if (records.length < FINISH_BATCH) continue;
      yield { stream: m.stream.name, records };
      records = [];
    }
    if (records.length > 0) yield { stream: m.stream.name, records };
  }
  return members.map((m) => stamped(m.tracker?.next()));
}

/**
 * A repository's runs, newest first, down to `until` (or start_date), a page at a time. The
 * connector builds the page URLs (the API's `next` drops `sort`) and skips rows that pages
 * shifted (runs arriving mid-walk push every row down). Also reports the repository's run count
 * from the first page.
 */
async function* walkRuns(
  ctx: ReadContext,
  pass: RepositoryPass,
  until: string | undefined,
): AsyncGenerator<{ runs: Run[] } | { size: number }, "done" | { notFound: string | undefined }> {
  const start = ctx.config.startDate;
  const boundary = { oldest: undefined as string | undefined, uuids: new Set<string>() };
  const pages = numberedPages(ctx.client, pass.path("/pipelines/"), { sort: "-created_on" }, ctx.config.pageSize, [404]);
  let step = await pages.next();
  for (let first = true; !step.done; step = await pages.next(), first = false) {
    // Progress counts the runs a sync will emit: known from size only when it reads them all.
    if (first && step.value.size !== undefined && until === undefined && start === undefined) yield { size: step.value.size };
    let reachedEnd = false;
    const runs: Run[] = [];
    for (const raw of step.value.values) {
      const run = describeRun(raw);
      if (!run) {
        ctx.log("WARN", `Skipped a run without a uuid in ${pass.repo.full_name}.`);
        continue;
      }
      const created = run.createdOn;
      if (created !== undefined) {
        if (
          boundary.oldest !== undefined &&
          (created > boundary.oldest || (created === boundary.oldest && boundary.uuids.has(run.uuid)))
        )
          continue;
        if (created !== boundary.oldest) boundary.uuids.clear();
        boundary.oldest = created;
        boundary.uuids.add(run.uuid);
        if (start !== undefined && created < start) {
          reachedEnd = true;
          continue;
        }
        if (until !== undefined && created <= until) reachedEnd = true;
      }
      runs.push(run);
    }
    if (runs.length > 0) yield { runs };
    if (reachedEnd) {
      await pages.return(undefined);
      return "done";
    }
  }
  return step.value ? { notFound: errorMessageOf(step.value.body) } : "done";
}

/** Progress for hosts and people: an ESTIMATE of the pipelines rows, and a LOG every 30 s. */
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
  sized(size: number): number | undefined {
    this.sizeSum += size;
    this.sizedRepositories++;
    // The first estimate goes out as soon as a first repository's size is known.
    return this.sizedRepositories === 1 ? this.estimate() : undefined;
  }

  /** Returns an estimate of the total runs when it is time to publish one. */
  repositoryDone(): number | undefined {
    this.repositoriesDone++;
    const now = this.ctx.now();
    if (this.repositoriesDone !== 1 && this.repositoriesDone !== this.repositories && now - this.lastLog < 30_000)
      return undefined;
    this.lastLog = now;
    const client = this.ctx.client;
    this.ctx.log(
      "INFO",
      `${this.repositoriesDone}/${this.repositories} repositories read, ${client.requestCount} requests made, about ${client.requestsLeftThisHour()} left in this hour's budget.`,
    );
    return this.estimate();
  }

  private estimate(): number | undefined {
    if (this.sizedRepositories === 0) return undefined;
    const average = this.sizeSum / this.sizedRepositories;
    // Repositories not read yet are read in full in the same share as those read so far.
    const share = Math.min(1, this.sizedRepositories / Math.max(1, this.repositoriesDone));
    return Math.round(this.sizeSum + average * Math.max(0, this.repositories - this.sizedRepositories) * share);
  }
}
