// Reads the connector's JSON-lines output (one file per stream) line by line and keeps a small
// projection of each record: only the fields the report needs. Records are deduplicated by their
// primary key, the last line winning, so an output folder that several incremental syncs appended
// to counts every run, step and deployment once, in its latest state. Each line may be the record
// itself (what `npm run demo` writes), an Airbyte RECORD message, or a destination row that wraps
// the record in `_airbyte_data`. Missing files are fine; unreadable lines are counted, not fatal.
import { createReadStream, existsSync } from "node:fs";
import { join } from "node:path";
import { createInterface } from "node:readline";

export const STREAMS = [
  "repositories",
  "pipelines",
  "pipeline_steps",
  "environments",
  "deployments",
  "deployment_commits",
] as const;
export type StreamName = (typeof STREAMS)[number];

export interface Run {
  uuid: string;
  repositoryUuid: string | null;
  repository: string | null;
  created: number | null;
  completed: number | null;
  /** state.name: COMPLETED, IN_PROGRESS, PENDING, PAUSED, ... */
  state: string | null;
  /** state.result.name for completed runs, else state.stage.name (RUNNING, PAUSED, ...) */
  result: string | null;
  duration: number | null;
}

export interface Step {
  uuid: string;
  repositoryUuid: string | null;
  repository: string | null;
  name: string | null;
  state: string | null;
  result: string | null;
  pipelineUuid: string | null;
}

export interface Deployment {
  id: string;
  source: string;
  rule: string | null;
  repositoryUuid: string | null;
  repository: string | null;
  environment: string | null;
  environmentType: string | null;
  environmentUuid: string | null;
  status: string | null;
  started: number | null;
  completed: number | null;
  /** restored_after_seconds; undefined when the record has no such field (files of older versions) */
  restoredAfter: number | null | undefined;
}

/** One commit a successful deployment shipped (the deployment_commits stream). */
export interface DeploymentCommit {
  deploymentId: string;
  commit: string;
  repositoryUuid: string | null;
  repository: string | null;
  environment: string | null;
  environmentType: string | null;
  /** the deployment's completion */
  deployedOn: number | null;
  /** seconds from the commit's date to deployedOn */
  leadTime: number | null;
}

export interface Repository {
  uuid: string;
  fullName: string | null;
}

export interface FileInfo {
  stream: StreamName;
  found: boolean;
  lines: number;
  records: number;
  /** lines that were not JSON objects or had no primary key */
  skipped: number;
  /** records whose primary key had been seen before in the file (the later one is kept) */
  duplicates: number;
}

export interface Dataset {
  folder: string;
  repositories: Map<string, Repository>;
  runs: Map<string, Run>;
  steps: Map<string, Step>;
  environments: Set<string>;
  deployments: Map<string, Deployment>;
  /** keyed by JSON [deployment_id, commit_hash] */
  deploymentCommits: Map<string, DeploymentCommit>;
  files: FileInfo[];
}

type Obj = Record<string, unknown>;

const isObj = (v: unknown): v is Obj => typeof v === "object" && v !== null && !Array.isArray(v);
const str = (v: unknown): string | null => (typeof v === "string" && v !== "" ? v : null);
const num = (v: unknown): number | null => (typeof v === "number" && Number.isFinite(v) ? v : null);
const obj = (v: unknown): Obj => (isObj(v) ? v : {});

/** Milliseconds since the epoch for an ISO-8601 timestamp (any number of fraction digits), or null. */
export function parseTime(v: unknown): number | null {
  if (typeof v !== "string" || v === "") return null;
  // Date.parse is only specified for up to 3 fraction digits: trim the rest (Bitbucket sends 6 or 9).
  const trimmed = v.replace(/(\.\d{3})\d+/, "$1");
  const ms = Date.parse(trimmed);
  return Number.isFinite(ms) ? ms : null;
}

/** The record a line holds: the object itself, an Airbyte RECORD message's data, or `_airbyte_data`. */
function unwrap(value: unknown): Obj | null {
  if (!isObj(value)) return null;
  if (value.type === "RECORD" && isObj(value.record) && isObj(value.record.data)) return value.record.data;
  if (isObj(value._airbyte_data)) return value._airbyte_data;
  return value;
}

function toRun(r: Obj): Run | null {
  const uuid = str(r.uuid);
  if (!uuid) return null;
  const state = obj(r.state);
  const repo = obj(r.repository);
  return {
    uuid,
    repositoryUuid: str(r.repository_uuid) ?? str(repo.uuid),
    repository: str(r.repository_full_name) ?? str(repo.full_name),
    created: parseTime(r.created_on),
    completed: parseTime(r.completed_on),
    // the flat status/result fields of newer versions, else the API's state object
    state: str(r.status) ?? str(state.name),
    result: str(r.result) ?? str(obj(state.result).name) ?? str(obj(state.stage).name),
    duration: num(r.duration_in_seconds),
  };
}

function toStep(r: Obj): Step | null {
  const uuid = str(r.uuid);
  if (!uuid) return null;
  const state = obj(r.state);
  return {
    uuid,
    repositoryUuid: str(r.repository_uuid),
    repository: str(r.repository_full_name),
    name: str(r.name),
    state: str(r.status) ?? str(state.name),
    result: str(r.result) ?? str(obj(state.result).name),
    pipelineUuid: str(r.pipeline_uuid) ?? str(obj(r.pipeline).uuid),
  };
}

function toDeployment(r: Obj): Deployment | null {
  const id = str(r.id);
  if (!id) return null;
  return {
    id,
    source: str(r.source) ?? "unknown",
    rule: str(r.rule),
    repositoryUuid: str(r.repository_uuid),
    repository: str(r.repository_full_name),
    environment: str(r.environment),
    environmentType: str(r.environment_type)?.toLowerCase() ?? null,
    environmentUuid: str(r.environment_uuid),
    status: str(r.status)?.toUpperCase() ?? null,
    started: parseTime(r.started_on),
    completed: parseTime(r.completed_on),
    restoredAfter: "restored_after_seconds" in r ? num(r.restored_after_seconds) : undefined,
  };
}

function toDeploymentCommit(r: Obj): DeploymentCommit | null {
  const deploymentId = str(r.deployment_id);
  const commit = str(r.commit_hash);
  if (!deploymentId || !commit) return null;
  const deployedOn = parseTime(r.deployed_on);
  const committed = parseTime(r.commit_date);
  return {
    deploymentId,
    commit,
    repositoryUuid: str(r.repository_uuid),
    repository: str(r.repository_full_name),
    environment: str(r.environment),
    environmentType: str(r.environment_type)?.toLowerCase() ?? null,
    deployedOn,
    leadTime: num(r.lead_time_seconds) ?? (deployedOn !== null && committed !== null ? (deployedOn - committed) / 1000 : null),
  };
}

async function readLines(path: string, info: FileInfo, onRecord: (record: Obj) => boolean): Promise<void> {
  if (!existsSync(path)) return;
  info.found = true;
  const lines = createInterface({ input: createReadStream(path, { encoding: "utf8" }), crlfDelay: Infinity });
  for await (const line of lines) {
    if (line.trim() === "") continue;
    info.lines++;
    let parsed: unknown;
    try {
      parsed = JSON.parse(line);
    } catch {
      info.skipped++;
      continue;
    }
    const record = unwrap(parsed);
    if (!record || !onRecord(record)) info.skipped++;
    else info.records++;
  }
}

/** Keeps `value` under `key`, counting a duplicate when the key was already there. */
function keep<T>(map: Map<string, T>, key: string, value: T, info: FileInfo): void {
  if (map.has(key)) {
    info.duplicates++;
    map.delete(key); // re-insert so the map's order is the order of the latest lines
  }
  map.set(key, value);
}

export async function loadDataset(folder: string): Promise<Dataset> {
  const data: Dataset = {
    folder,
    repositories: new Map(),
    runs: new Map(),
    steps: new Map(),
    environments: new Set(),
    deployments: new Map(),
    deploymentCommits: new Map(),
    files: [],
  };
  for (const stream of STREAMS) {
    const info: FileInfo = { stream, found: false, lines: 0, records: 0, skipped: 0, duplicates: 0 };
    data.files.push(info);
    const path = join(folder, `${stream}.jsonl`);
    await readLines(path, info, (r) => {
      switch (stream) {
        case "repositories": {
          const uuid = str(r.uuid);
          if (!uuid) return false;
          keep(data.repositories, uuid, { uuid, fullName: str(r.full_name) }, info);
          return true;
        }
        case "pipelines": {
          const run = toRun(r);
          if (run) keep(data.runs, run.uuid, run, info);
          return run !== null;
        }
        case "pipeline_steps": {
          const step = toStep(r);
          if (step) keep(data.steps, step.uuid, step, info);
          return step !== null;
        }
        case "environments": {
          const uuid = str(r.uuid);
          if (!uuid) return false;
          if (data.environments.has(uuid)) info.duplicates++;
          data.environments.add(uuid);
          return true;
        }
        case "deployments": {
          const d = toDeployment(r);
          if (d) keep(data.deployments, d.id, d, info);
          return d !== null;
        }
        case "deployment_commits": {
          const c = toDeploymentCommit(r);
          if (c) keep(data.deploymentCommits, JSON.stringify([c.deploymentId, c.commit]), c, info);
          return c !== null;
        }
      }
    });
  }
  // Records that carry only a repository uuid get the name from the repositories stream.
  const names = new Map<string, string>();
  for (const repo of data.repositories.values()) if (repo.fullName) names.set(repo.uuid, repo.fullName);
  const fill = (x: { repositoryUuid: string | null; repository: string | null }) => {
    if (!x.repository) x.repository = (x.repositoryUuid && names.get(x.repositoryUuid)) || x.repositoryUuid;
  };
  data.runs.forEach(fill);
  data.steps.forEach(fill);
  data.deployments.forEach(fill);
  data.deploymentCommits.forEach(fill);
  return data;
}
