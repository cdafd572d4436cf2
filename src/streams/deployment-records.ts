// The deployment records of a repository's changed runs, from two sources:
//   - "bitbucket_deployments": the repository's deployments listing (no server-side filter), minus
//     the UNDEPLOYED placeholders, joined with its run and its environment: from the environments
//     listing, else as the row embeds it (only a uuid unless `fields` asks for more; API notes
//     §6.2). A listing that is empty, 404 or lacks the environment costs a name, not the deployment;
//   - "rule": runs that match the user's deployment_rules, unless Bitbucket already lists them.
// Shared by the deployments and deployment_commits streams: both read the listings through the
// pass, which fetches each once.
import { secondsBetween } from "../bitbucket/timestamps.js";
import type { DeploymentRule } from "../config.js";
import type { JsonObject } from "../protocol/messages.js";
import { DeploymentHistory } from "./deployment-history.js";
import type { RepositoryData, RepositoryReader, Run } from "./stream.js";

/** What the records need of a run acted on, and no more: a first sync keeps it for every run of a repository. */
interface ChangedRun {
  uuid: string;
  fields: RunFields;
}

function changedRun(run: Run): ChangedRun {
  return { uuid: run.uuid, fields: fieldsOf(run) };
}

/**
 * The reader both deployment streams use: it keeps what the deployments of each run acted on
 * need, and after the walk hands the pass's deployment records and the repository's history to
 * `emit`, which makes the stream's records. Nothing is fetched when no run changed.
 */
export function deploymentsReader(
  data: RepositoryData,
  memory: JsonObject | undefined,
  stream: string,
  emit: (deployments: JsonObject[], history: DeploymentHistory) => AsyncIterable<JsonObject>,
): RepositoryReader {
  const changed = new Map<string, ChangedRun>();
  const history = new DeploymentHistory(memory, stream);
  return {
    onRun(run) {
      changed.set(run.uuid, changedRun(run));
      return undefined;
    },
    async *finish() {
      if (changed.size > 0) yield* emit(await deploymentRecords(data, changed), history);
    },
    memory: () => history.toJson(),
  };
}

/** The deployment records of these runs, in the listing's order, then the rule matches. */
async function deploymentRecords(data: RepositoryData, changed: Map<string, ChangedRun>): Promise<JsonObject[]> {
  const base = { repository_uuid: data.repo.uuid, repository_full_name: data.repo.full_name };
  const records: JsonObject[] = [];
  const listed = new Set<string>();
  const environments = (await data.list("/environments/")) as Environment[];
  const byUuid = new Map(environments.map((e) => [e.uuid, e]));
  const unlisted = { count: 0, unnamed: 0 };
  for (const row of (await data.list("/deployments/", { fields: EMBEDDED_ENVIRONMENT })) as BitbucketDeployment[]) {
    const pipelineUuid = row.release?.pipeline?.uuid ?? row.deployable?.pipeline?.uuid;
    if (row.state?.name === "UNDEPLOYED" || typeof row.uuid !== "string" || !pipelineUuid) continue;
    listed.add(pipelineUuid);
    const run = changed.get(pipelineUuid);
    if (!run) continue;
    const environment = byUuid.get(row.environment?.uuid ?? "");
    if (!environment) {
      unlisted.count++;
      if (!row.environment?.name) unlisted.unnamed++;
    }
    records.push({ ...base, ...fromBitbucket(row, run, environment ?? row.environment) });
  }
  if (unlisted.count > 0) data.log("WARN", unlistedWarning(data.repo.full_name, unlisted));
  for (const run of changed.values()) {
    if (listed.has(run.uuid)) continue;
    for (const rule of data.config.deploymentRules) {
      if (matches(rule, data.repo.slug, run.fields as JsonObject)) records.push({ ...base, ...fromRule(rule, run) });
    }
  }
  return records;
}

/** The embedded environment carries only its uuid unless asked for more (`+` sent as %2B by client.url). */
const EMBEDDED_ENVIRONMENT = "+values.environment.name,+values.environment.environment_type.name";

/** From the environments listing, or embedded in a deployment row. */
interface Environment {
  uuid?: string;
  name?: string;
  environment_type?: { name?: string };
}

function unlistedWarning(repository: string, { count, unnamed }: { count: number; unnamed: number }): string {
  const names =
    unnamed === 0
      ? "their environment and environment_type come from the deployments listing itself"
      : unnamed === count
        ? "the deployments listing does not name it either, so their environment and environment_type are null"
        : `their environment and environment_type come from the deployments listing itself, except for ${unnamed} it does not name, whose environment and environment_type are null`;
  return `Repository ${repository}: ${count} deployment(s) name an environment that its environments listing (GET …/environments/) does not have: the listing is empty, answered 404, or the environment was deleted. The deployments are emitted with their environment_uuid; ${names}.`;
}

interface BitbucketDeployment {
  uuid?: string;
  step?: { uuid?: string };
  environment?: Environment;
  release?: Release;
  deployable?: Release;
  state?: {
    name?: string;
    status?: { name?: string };
    started_on?: string;
    completed_on?: string;
  };
}

interface Release {
  name?: string;
  pipeline?: { uuid?: string };
  commit?: { hash?: string };
}

/** The fields of RunFields, and no more: a first sync keeps them for every run of a repository. */
function fieldsOf(run: Run): RunFields {
  const raw = run.raw as RunFields;
  const { target, state } = raw;
  return {
    build_number: raw.build_number,
    created_on: raw.created_on,
    completed_on: raw.completed_on,
    duration_in_seconds: raw.duration_in_seconds,
    target: {
      ref_type: target?.ref_type,
      ref_name: target?.ref_name,
      commit: { hash: target?.commit?.hash },
      selector: { type: target?.selector?.type, pattern: target?.selector?.pattern },
    },
    state: { name: state?.name, result: { name: state?.result?.name } },
  };
}

interface RunFields {
  build_number?: number;
  created_on?: string;
  completed_on?: string;
  duration_in_seconds?: number;
  target?: {
    ref_type?: string;
    ref_name?: string;
    commit?: { hash?: string };
    selector?: { type?: string; pattern?: string };
  };
  state?: { name?: string; stage?: { name?: string }; result?: { name?: string } };
}

function fromBitbucket(row: BitbucketDeployment, run: ChangedRun, environment: Environment | undefined): JsonObject {
  const r = run.fields;
  const release = row.release ?? row.deployable;
  const buildNumber = /^#(\d+)$/.exec(release?.name ?? "")?.[1];
  const state = row.state ?? {};
  return {
    id: row.uuid,
    source: "bitbucket_deployments",
    rule: null,
    environment: environment?.name ?? null,
    environment_type: environment?.environment_type?.name?.toLowerCase() ?? null,
    environment_uuid: row.environment?.uuid ?? null,
    commit_hash: release?.commit?.hash ?? r.target?.commit?.hash ?? null,
    ref_name: r.target?.ref_name ?? null,
    pipeline_uuid: run.uuid,
    build_number: r.build_number ?? (buildNumber ? Number(buildNumber) : null),
    step_uuid: row.step?.uuid ?? null,
    pipeline_created_on: r.created_on ?? null,
    status: state.name === "COMPLETED" ? (state.status?.name ?? "COMPLETED") : (state.name ?? null),
    started_on: state.started_on ?? null,
    completed_on: state.completed_on ?? null,
    duration_seconds: secondsBetween(state.started_on, state.completed_on),
  };
}

function fromRule(rule: DeploymentRule, run: ChangedRun): JsonObject {
  const r = run.fields;
  const state = r.state ?? {};
  return {
    id: `rule:${rule.name}:${run.uuid}`,
    source: "rule",
    rule: rule.name,
    environment: rule.environment,
    environment_type: rule.environmentType,
    environment_uuid: null,
    commit_hash: r.target?.commit?.hash ?? null,
    ref_name: r.target?.ref_name ?? null,
    pipeline_uuid: run.uuid,
    build_number: r.build_number ?? null,
    step_uuid: null,
    pipeline_created_on: r.created_on ?? null,
    status: state.name === "COMPLETED" ? (state.result?.name ?? "COMPLETED") : (state.name ?? null),
    started_on: r.created_on ?? null,
    completed_on: r.completed_on ?? null,
    duration_seconds: r.duration_in_seconds ?? secondsBetween(r.created_on, r.completed_on),
  };
}

const BRANCH_REFS = new Set(["branch", "named_branch"]);
const TAG_REFS = new Set(["tag", "annotated_tag"]);

/**
 * Every condition the rule gives must hold; a pattern matches the whole value, and a missing value
 * never matches. A branch or tag pattern looks at ref_name only for a run on that kind of ref: a tag
 * called "main" is no push to main.
 */
export function matches(rule: DeploymentRule, repositorySlug: string, raw: JsonObject): boolean {
  const target = (raw as RunFields).target;
  const refType = target?.ref_type ?? "";
  // The API sends null for some values (a pull-request run's ref_name): RegExp.test would read it as "null".
  const test = (pattern: RegExp | undefined, value: string | null | undefined): boolean =>
    !pattern || (typeof value === "string" && pattern.test(value));
  return (
    test(rule.repository, repositorySlug) &&
    (!rule.selectorType || target?.selector?.type === rule.selectorType) &&
    test(rule.pipeline, target?.selector?.pattern) &&
    test(rule.branch, BRANCH_REFS.has(refType) ? target?.ref_name : undefined) &&
    test(rule.tag, TAG_REFS.has(refType) ? target?.ref_name : undefined)
  );
}
