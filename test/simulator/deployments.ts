// Deployment environments and deployment rows (reference §6.2, §6.3; quirks 14, 15, 18). Rows are derived from the
// deploy steps of a repository's runs, so they always join exactly: step.uuid -> the step, release.pipeline.uuid ->
// the run, release.name -> "#" + build_number, release.commit.hash -> target.commit.hash.

import { createHash } from "node:crypto";

import { WEB } from "./fixtures.js";
import { deriveSeed, Random } from "./random.js";
import type { RepoRecord, RunRecord, StepRecord } from "./records.js";
import { formatPipelineTime } from "./time.js";
import type {
  DeploymentJson,
  DeploymentReleaseJson,
  DeploymentStateJson,
  EnvironmentJson,
  EnvironmentTypeName,
} from "./types.js";

/** Repositories at index 2, 6, 10, ... (e.g. "mobile-app", "auth-service", "service-03") have no environments. */
export function hasEnvironments(repo: RepoRecord): boolean {
  return repo.index % 4 !== 2;
}

const ENVIRONMENTS: readonly (readonly [EnvironmentTypeName, string])[] = [
  ["Test", "test"],
  ["Staging", "staging"],
  ["Production", "production"],
];

export function generateEnvironments(seed: number, repo: RepoRecord): EnvironmentJson[] {
  if (!hasEnvironments(repo)) return [];
  const rng = new Random(deriveSeed(seed, "environments", repo.index));
  return ENVIRONMENTS.map(([name, slug], rank) => {
    const production = name === "Production";
    return {
      type: "deployment_environment",
      uuid: rng.uuid(),
      name,
      slug,
      environment_type: { type: "deployment_environment_type", name, rank },
      category: { name },
      rank,
      hidden: false,
      lock: { type: "deployment_environment_lock_open", name: "OPEN" },
      environment_lock_enabled: production || rng.chance(0.3),
      deployment_gate_enabled: production && rng.chance(0.3),
      restrictions: { type: "deployment_restrictions_configuration", admin_only: production && rng.chance(0.5) },
    };
  });
}

/** A name-based (version-5 style) braced UUID, as deployments and releases carry. */
export function nameUuid(name: string): string {
  const h = createHash("sha1").update(name).digest("hex");
  const variant = ((parseInt(h.charAt(16), 16) & 0x3) | 0x8).toString(16);
  return `{${h.slice(0, 8)}-${h.slice(8, 12)}-5${h.slice(13, 16)}-${variant}${h.slice(17, 20)}-${h.slice(20, 32)}}`;
}

function stateJson(s: StepRecord, time: (ms: number, sub: number) => string, url: string): DeploymentStateJson {
  const st = s.status;
  if (s.startedMs === undefined) return { type: "deployment_state_undeployed", name: "UNDEPLOYED", status: {} };
  const started = time(s.startedMs, s.startedSub);
  if (st.state === "COMPLETED" && s.completedMs !== undefined) {
    const name = st.result === "SUCCESSFUL" ? "SUCCESSFUL" : st.result === "STOPPED" ? "STOPPED" : "FAILED";
    return {
      type: "deployment_state_completed",
      name: "COMPLETED",
      status: {
        type: `deployment_state_completed_${name === "SUCCESSFUL" ? "successful" : name === "STOPPED" ? "stopped" : "failed"}`,
        name,
      },
      url,
      started_on: started,
      completed_on: time(s.completedMs, s.completedSub),
    };
  }
  return { type: "deployment_state_in_progress", name: "IN_PROGRESS", url, started_on: started };
}

/** The deployment row backed by deploy step `s` of `run` (a fresh object). */
export function deploymentJson(repo: RepoRecord, run: RunRecord, s: StepRecord, environmentUuid: string): DeploymentJson {
  const time = (ms: number, sub: number): string => formatPipelineTime(ms, sub, run.digits);
  const results = `${WEB}/${repo.json.full_name}/addon/pipelines/home#!/results/${run.buildNumber}`;
  const release = (): DeploymentReleaseJson => ({
    type: "deployment_release",
    uuid: nameUuid(`release:${repo.json.uuid}:${run.uuid}`),
    key: `pipelines-${run.uuid}`,
    name: `#${run.buildNumber}`,
    url: results,
    pipeline: { type: "pipeline", uuid: run.uuid },
    commit: { type: "commit", hash: run.target.commit.hash, links: { html: { href: run.target.commit.links.html.href } } },
    created_on: time(run.createdMs, run.createdSub),
  });
  const state = stateJson(s, time, `${results}/steps/${encodeURIComponent(s.uuid)}`);
  const lastUpdate =
    state.name === "COMPLETED" ? state.completed_on : state.name === "IN_PROGRESS" ? state.started_on : undefined;
  return {
    type: "deployment",
    uuid: nameUuid(`deployment:${repo.json.uuid}:${s.uuid}`),
    key: `steps-${s.uuid}`,
    version: s.deployVersion,
    step: { uuid: s.uuid },
    environment: { uuid: environmentUuid },
    release: release(),
    deployable: release(),
    state,
    ...(lastUpdate !== undefined ? { last_update_time: lastUpdate } : {}),
  };
}
