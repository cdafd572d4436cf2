// A repository's runs listing, newest first, a page at a time (API notes §3.4): the connector
// builds the page URLs itself (the API's `next` drops `sort`), and stops at the oldest run any
// stream needs, or at start_date.
import type { BitbucketClient } from "../bitbucket/client.js";
import { errorMessageOf } from "../bitbucket/errors.js";
import { numberedPages } from "../bitbucket/paginate.js";
import type { Config } from "../config.js";
import type { Log, Run } from "../streams/stream.js";
import { describeRun } from "./run-tracker.js";

export interface RunsPage {
  runs: Run[];
  /** The repository's run count, from the first page of a walk that reads them all. */
  size?: number;
}

/** How the walk ended: reached its end, or the listing answered 404 (with what Bitbucket said). */
export type WalkEnd = { done: true } | { notFound: string | undefined };

/**
 * Runs arriving during the walk push every row down: the top rows of a page repeat the bottom
 * rows of the page before. Those repeats are dropped by uuid, remembering the runs of the last
 * two pages only (a shift is the runs created between two requests), so memory stays flat
 * however long the repository's history.
 */
export async function* walkRuns(
  client: BitbucketClient,
  path: string,
  config: Config,
  until: string | undefined,
  log: Log,
): AsyncGenerator<RunsPage, WalkEnd> {
  const start = config.startDate;
  let previousPage = new Set<string>();
  const pages = numberedPages(client, path, { sort: "-created_on" }, config.pageSize, [404]);
  let step = await pages.next();
  for (let first = true; !step.done; step = await pages.next(), first = false) {
    const thisPage = new Set<string>();
    const runs: Run[] = [];
    let reachedEnd = false;
    for (const raw of step.value.values) {
      const run = describeRun(raw);
      if (!run) {
        log("WARN", `Skipped a run without a uuid in ${path}.`);
        continue;
      }
      if (previousPage.has(run.uuid) || thisPage.has(run.uuid)) continue;
      thisPage.add(run.uuid);
      const created = run.createdOn;
      if (created !== undefined && start !== undefined && created < start) {
        reachedEnd = true;
        continue;
      }
      if (created !== undefined && until !== undefined && created <= until) reachedEnd = true;
      runs.push(run);
    }
    previousPage = thisPage;
    // The run count is what the sync emits only when it reads every run.
    const size = first && until === undefined && start === undefined ? step.value.size : undefined;
    if (runs.length > 0 || size !== undefined) yield { runs, ...(size !== undefined ? { size } : {}) };
    if (reachedEnd) {
      await pages.return(undefined);
      return { done: true };
    }
  }
  return step.value ? { notFound: errorMessageOf(step.value.body) } : { done: true };
}
