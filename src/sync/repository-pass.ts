// One repository's pass, shared by every repository stream of the catalog: the runs listing is
// walked once (newest first, down to the oldest point any stream needs), each stream's
// RunTracker says which runs it acts on, watched unfinished runs the walk did not reach are
// fetched by uuid, then each stream finishes (deployments, environments). Per-repository
// lookups are fetched at most once per pass.
import { followNext, numberedPages } from "../bitbucket/paginate.js";
import { timestampFromMillis } from "../bitbucket/timestamps.js";
import type { JsonObject } from "../protocol/messages.js";
import { type RepositoryRef, repositoryPath } from "../streams/repository-scope.js";
import type { Query, ReadContext, RepositoryData, RepositoryReader, RepositoryStream, Run } from "../streams/stream.js";
import type { RepositoryRunsState } from "./run-state.js";
import { describeRun, RunTracker } from "./run-tracker.js";
import { walkRuns } from "./runs-listing.js";

/** What a pass yields: a stream's records, the repository's run count, or the entries of a checkpoint inside it. */
export type PassOutput =
  | { stream: string; records: JsonObject[] }
  | { runCount: number }
  | { partial: Record<string, RepositoryRunsState> };

/** Each following stream's entry for the next sync, by stream name; `skipped` says why the runs could not be read. */
export interface PassEnd {
  entries: Record<string, RepositoryRunsState>;
  skipped?: string;
}

export interface PassMember {
  stream: RepositoryStream;
  /** The stream's entry for this repository, for a stream that follows runs. */
  entry: RepositoryRunsState | undefined;
}

/**
 * A repository still being read gives a checkpoint this often (of the sync's clock): when
 * requests are scarce (one per run for steps, 1,000 an hour), a large repository can take
 * hours, and a sync that stops must not start it over.
 */
const PARTIAL_CHECKPOINT_MS = 10 * 60_000;

/** Records of a stream's finish() go out in batches of this many. */
const FINISH_BATCH = 100;

/** The repository's data as the streams ask for it (streams/stream.ts), each lookup fetched once. */
class RepositoryPass implements RepositoryData {
  private readonly fetched = new Map<string, Promise<unknown>>();
  readonly config: ReadContext["config"];
  readonly log: ReadContext["log"];

  constructor(
    private readonly ctx: ReadContext,
    readonly repo: RepositoryRef,
  ) {
    this.config = ctx.config;
    this.log = ctx.log;
  }

  path(suffix: string): string {
    return repositoryPath(this.config, this.repo.slug, suffix);
  }

  list(path: string, query: Query = {}): Promise<unknown[]> {
    return this.once(`list ${path} ${JSON.stringify(query)}`, async () => {
      const items: unknown[] = [];
      for await (const item of this.each(path, query)) items.push(item);
      return items;
    }) as Promise<unknown[]>;
  }

  async *each(path: string, query: Query = {}): AsyncGenerator<unknown> {
    for await (const page of numberedPages(this.ctx.client, this.path(path), query, 100, [404])) yield* page.values;
  }

  async listByNext(path: string, query: Query, limit: number): Promise<{ items: unknown[]; more: boolean } | undefined> {
    const { client } = this.ctx;
    const items: unknown[] = [];
    let found = false;
    for await (const page of followNext(client, client.url(this.path(path), query), [404])) {
      found = true;
      items.push(...page.values);
      if (items.length >= limit) return { items: items.slice(0, limit), more: items.length > limit || page.next !== undefined };
    }
    return found ? { items, more: false } : undefined;
  }

  run(uuid: string): Promise<Run | undefined> {
    return this.once(`run ${uuid}`, async () => {
      const { client } = this.ctx;
      const response = await client.get(client.url(this.path(`/pipelines/${encodeURIComponent(uuid)}`)), [404]);
      return response.status === 404 ? undefined : describeRun(response.body);
    }) as Promise<Run | undefined>;
  }

  private once(key: string, load: () => Promise<unknown>): Promise<unknown> {
    let value = this.fetched.get(key);
    if (!value) {
      value = load();
      this.fetched.set(key, value);
    }
    return value;
  }
}

interface Follower {
  stream: RepositoryStream;
  reader: RepositoryReader;
  tracker: RunTracker;
}

export async function* readRepository(
  ctx: ReadContext,
  repo: RepositoryRef,
  members: PassMember[],
): AsyncGenerator<PassOutput, PassEnd> {
  const data = new RepositoryPass(ctx, repo);
  const startedAt = ctx.now();
  const settings = {
    startedAt,
    lookbackHours: ctx.config.lookbackHours,
    warn: (message: string) => ctx.log("WARN", message),
    ...(ctx.config.startDate ? { startDate: ctx.config.startDate } : {}),
  };
  const readers = members.map(({ stream, entry }) => ({ stream, reader: stream.open(data, entry?.memory) }));
  const followers: Follower[] = members.flatMap(({ stream, entry }, i) =>
    stream.followsRuns
      ? [{ stream, reader: readers[i]!.reader, tracker: new RunTracker(entry ?? {}, settings, repo.full_name) }]
      : [],
  );
  // With idle polling, an entry notes when the runs were asked for: the pass's start, not when
  // its output is written, so a push while the pass ran makes the repository due next time.
  const polledAt = ctx.config.idleRepositoryPollHours > 0 ? timestampFromMillis(startedAt) : undefined;
  const stamped = (entry: RepositoryRunsState): RepositoryRunsState => (polledAt ? { ...entry, polled_at: polledAt } : entry);

  if (followers.length > 0) {
    const needed = followers.map((f) => f.tracker.oldestNeeded());
    const until = needed.includes(undefined) ? undefined : needed.reduce((a, b) => (a! < b! ? a : b));
    const walk = walkRuns(ctx.client, data.path("/pipelines/"), ctx.config, until, ctx.log);
    let checkpointAt = ctx.now();
    let step = await walk.next();
    for (; !step.done; step = await walk.next()) {
      const { runs, size } = step.value;
      if (size !== undefined) yield { runCount: size };
      yield* recordsOf(followers, runs);
      for (const f of followers) f.tracker.walkedDownTo(runs.at(-1)?.createdOn);
      if (ctx.now() - checkpointAt >= PARTIAL_CHECKPOINT_MS) {
        checkpointAt = ctx.now();
        yield { partial: partialEntries(followers) };
      }
    }
    if ("notFound" in step.value) {
      const said = step.value.notFound ? ` Bitbucket said: "${step.value.notFound}".` : "";
      const why = `${repo.full_name}'s pipelines answered 404 (deleted, or Pipelines not enabled).${said}`;
      ctx.log("WARN", `Skipped ${why}`);
      const kept = members.flatMap(({ stream, entry }) => (entry ? [[stream.name, stamped(entry)]] : []));
      return { entries: Object.fromEntries(kept), skipped: why };
    }
    for (const uuid of new Set(followers.flatMap((f) => f.tracker.watchedNotReached()))) {
      const run = await data.run(uuid);
      if (!run) {
        ctx.log("WARN", `Run ${uuid} of ${repo.full_name} is gone (404): no longer watched.`);
        continue;
      }
      yield* recordsOf(followers, [run]);
    }
  }
  for (const { stream, reader } of readers) {
    if (!reader.finish) continue;
    let records: JsonObject[] = [];
    for await (const record of reader.finish()) {
      records.push(record);
      if (records.length < FINISH_BATCH) continue;
      yield { stream: stream.name, records };
      records = [];
    }
    if (records.length > 0) yield { stream: stream.name, records };
  }
  const entryOf = (f: Follower): RepositoryRunsState => {
    const memory = f.reader.memory?.();
    return stamped({ ...f.tracker.nextEntry(), ...(memory ? { memory } : {}) });
  };
  return { entries: Object.fromEntries(followers.map((f) => [f.stream.name, entryOf(f)])) };
}

/** Each stream's records of these runs: one batch, and one more for each run whose records took requests. */
async function* recordsOf(followers: Follower[], runs: Run[]): AsyncGenerator<PassOutput> {
  for (const { stream, reader, tracker } of followers) {
    let records: JsonObject[] = [];
    for (const run of runs) {
      const made = tracker.actsOn(run) ? reader.onRun?.(run) : undefined;
      if (!made) continue;
      if (Array.isArray(made)) {
        records.push(...made);
        continue;
      }
      for await (const record of made) records.push(record);
      if (records.length > 0) yield { stream: stream.name, records };
      records = [];
    }
    if (records.length > 0) yield { stream: stream.name, records };
  }
}

/** The entries of a checkpoint inside the repository: not for a stream that writes its records after the walk (deployments). */
function partialEntries(followers: Follower[]): Record<string, RepositoryRunsState> {
  const entries: Record<string, RepositoryRunsState> = {};
  for (const { stream, reader, tracker } of followers) {
    const entry = reader.finish ? undefined : tracker.partialEntry();
    if (entry) entries[stream.name] = entry;
  }
  return entries;
}
