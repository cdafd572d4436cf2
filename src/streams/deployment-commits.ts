// Stream `deployment_commits`: for each successful deployment, the commits it shipped: those
// reachable from its commit and not from the commit of the previous successful deployment to
// the same environment of the same repository (deployment-history.ts), one request a page
// (GET …/commits/{hash}?exclude={previous}, paged by its `next` links). The first deployment to
// an environment has no previous one: its deployed commit alone. Each with its lead time, from
// the commit's date to the deployment's completion. Commit messages are the team's text: left
// out unless include_commit_messages.
import { secondsBetween } from "../bitbucket/timestamps.js";
import type { JsonObject } from "../protocol/messages.js";
import { deploymentsReader } from "./deployment-records.js";
import type { RepositoryData, RepositoryStream } from "./stream.js";

/** A change set larger than this is cut short with a WARN: 10 requests for one deployment. */
const MAX_COMMITS = 1_000;

export const deploymentCommits: RepositoryStream = {
  kind: "repository",
  name: "deployment_commits",
  primaryKey: [["deployment_id"], ["commit_hash"]],
  cursorField: "pipeline_created_on",
  followsRuns: true,
  open: (data, memory) =>
    deploymentsReader(data, memory, "deployment_commits", async function* (deployments, history) {
      const { previous } = history.apply(deployments);
      for (const deployment of deployments) {
        const before = previous.get(String(deployment.id));
        if (before === undefined) continue; // not successful, or its commits were read at an earlier sync
        for (const commit of await shipped(data, deployment, before?.commit ?? null))
          yield commitRecord(data, deployment, commit);
      }
    }),
};

interface Commit {
  hash?: string;
  date?: string;
  message?: string;
  author?: { user?: { account_id?: string; display_name?: string } };
}

/** The commits a deployment shipped, newest first. */
async function shipped(data: RepositoryData, deployment: JsonObject, previousCommit: string | null): Promise<Commit[]> {
  const hash = deployment.commit_hash;
  const where = `deployment ${String(deployment.id)} of ${data.repo.full_name}`;
  if (typeof hash !== "string") {
    data.log("WARN", `No deployment_commits for ${where}: Bitbucket gives no commit for it.`);
    return [];
  }
  // A redeploy of the same commit ships nothing new.
  if (previousCommit === hash) return [];
  const path = `/commits/${encodeURIComponent(hash)}`;
  // Newest first: the deployed commit itself comes first, so the first item alone is it.
  const alone = !previousCommit;
  let listed = await data.listByNext(
    path,
    alone ? { pagelen: 1 } : { exclude: previousCommit, pagelen: 100 },
    alone ? 1 : MAX_COMMITS,
  );
  if (!listed && !alone) {
    // The previous deployment's commit is gone (a force push): the deployed commit is all that is known.
    data.log(
      "WARN",
      `${where}: the previous deployment's commit ${previousCommit} is not found (404); only the deployed commit is emitted.`,
    );
    listed = await data.listByNext(path, { pagelen: 1 }, 1);
  }
  if (!listed) {
    data.log("WARN", `No deployment_commits for ${where}: commit ${hash} is not found (404).`);
    return [];
  }
  if (listed.more && !alone) {
    data.log("WARN", `${where} shipped more than ${MAX_COMMITS} commits: only the newest ${MAX_COMMITS} are emitted.`);
  }
  return (listed.items as Commit[]).filter((c) => typeof c?.hash === "string");
}

function commitRecord(data: RepositoryData, deployment: JsonObject, commit: Commit): JsonObject {
  const user = commit.author?.user;
  const deployedOn = deployment.completed_on as string;
  return {
    deployment_id: deployment.id,
    environment: deployment.environment,
    environment_type: deployment.environment_type,
    environment_uuid: deployment.environment_uuid,
    repository_uuid: data.repo.uuid,
    repository_full_name: data.repo.full_name,
    commit_hash: commit.hash,
    commit_date: commit.date ?? null,
    author_account_id: user?.account_id ?? null,
    author_display_name: user?.display_name ?? null,
    ...(data.config.includeCommitMessages ? { message: commit.message ?? null } : {}),
    deployed_on: deployedOn,
    lead_time_seconds: secondsBetween(commit.date, deployedOn),
    pipeline_created_on: deployment.pipeline_created_on,
  };
}
