// Static vocabulary and JSON builders for the generated workspace (shapes: reference §2.4, §4.2, §4.4).

import type { Random } from "./random.js";
import type { AccountJson, CommitJson, CondensedRepositoryJson, PipelineErrorJson, RepositoryJson } from "./types.js";

export const API = "https://api.bitbucket.org/2.0";
export const WEB = "https://bitbucket.org";
export const PIPELINES_HOST = "https://bitbucket-pipelines.prod.public.atl-paas.net/rest/1.0";

const NAMED_SLUGS = [
  "web-app",
  "api-gateway",
  "mobile-app",
  "data-pipeline",
  "infra-terraform",
  "docs-site",
  "auth-service",
  "billing-service",
] as const;

/** Deterministic slug of the repository created at `index`: named ones first, then "service-01", "service-02", ... */
export function slugForIndex(index: number): string {
  return NAMED_SLUGS[index] ?? `service-${String(index - NAMED_SLUGS.length + 1).padStart(2, "0")}`;
}

const PEOPLE = [
  ["Dana Developer", "dana"],
  ["Alex Kim", "akim"],
  ["Priya Patel", "priya"],
  ["Jonas Berg", "jberg"],
  ["Maria Garcia", "mgarcia"],
  ["Sam Taylor", "sam"],
] as const;

export const PROJECTS = [
  ["WEB", "Web"],
  ["PLAT", "Platform"],
  ["OPS", "Operations"],
] as const;

export const LANGUAGES = ["typescript", "go", "python", "java", "kotlin", "javascript", ""] as const;

export const FEATURE_BRANCHES = ["feature/x", "feature/login-form", "feature/PROJ-123-cache", "bugfix/null-pointer"] as const;

export const PIPELINE_ERRORS: readonly PipelineErrorJson[] = [
  {
    type: "pipeline_error",
    key: "plan-service.parse.parse-failed",
    message: "There is an error in your bitbucket-pipelines.yml at [pipelines > branches]. Check the indentation.",
  },
  {
    type: "pipeline_error",
    key: "agent.build.container-memory-limit-exceeded",
    message: "Container 'Build' exceeded memory limit.",
  },
  {
    type: "pipeline_error",
    key: "result-service.pipeline.time-limit-exceeded",
    message: "The build exceeded the maximum time limit of 120 minutes.",
  },
];

function enc(uuid: string): string {
  return encodeURIComponent(uuid);
}

export function makeUsers(rng: Random): AccountJson[] {
  return PEOPLE.map(([displayName, nickname]) => {
    const uuid = rng.uuid();
    const initials = displayName
      .split(" ")
      .map((w) => w[0] ?? "")
      .join("");
    return {
      type: "user",
      uuid,
      account_id: `557058:${uuid.slice(1, -1)}`,
      display_name: displayName,
      nickname,
      links: {
        self: { href: `${API}/users/${enc(uuid)}` },
        html: { href: `${WEB}/${enc(uuid)}/` },
        avatar: { href: `https://avatar-management--avatars.us-west-2.prod.public.atl-paas.net/initials/${initials}-3.png` },
      },
    };
  });
}

export interface WorkspaceInfo {
  slug: string;
  uuid: string;
  name: string;
  users: AccountJson[];
  projects: { key: string; name: string; uuid: string }[];
}

export interface RepoSeed {
  workspace: WorkspaceInfo;
  slug: string;
  uuid: string;
  project: { key: string; name: string; uuid: string };
  language: string;
  mainbranch: string;
  description: string;
  size: number;
  forkPolicy: RepositoryJson["fork_policy"];
  hasIssues: boolean;
  createdOn: string;
  updatedOn: string;
}

export function buildRepositoryJson(s: RepoSeed): RepositoryJson {
  const ws = s.workspace;
  const full = `${ws.slug}/${s.slug}`;
  const repoApi = `${API}/repositories/${full}`;
  return {
    type: "repository",
    uuid: s.uuid,
    full_name: full,
    slug: s.slug,
    name: s.slug,
    description: s.description,
    scm: "git",
    website: null,
    is_private: true,
    fork_policy: s.forkPolicy,
    language: s.language,
    size: s.size,
    has_issues: s.hasIssues,
    has_wiki: false,
    created_on: s.createdOn,
    updated_on: s.updatedOn,
    mainbranch: { type: "branch", name: s.mainbranch },
    parent: null,
    enforced_signed_commits: null,
    override_settings: { default_merge_strategy: true, branching_model: true },
    owner: {
      type: "team",
      uuid: ws.uuid,
      display_name: ws.name,
      username: ws.slug,
      links: {
        self: { href: `${API}/workspaces/${enc(ws.uuid)}` },
        html: { href: `${WEB}/${enc(ws.uuid)}/` },
        avatar: { href: `${WEB}/account/${ws.slug}/avatar/` },
      },
    },
    workspace: {
      type: "workspace",
      uuid: ws.uuid,
      slug: ws.slug,
      name: ws.name,
      links: {
        self: { href: `${API}/workspaces/${ws.slug}` },
        html: { href: `${WEB}/${ws.slug}/` },
        avatar: { href: `${WEB}/workspaces/${ws.slug}/avatar/?ts=1700000000` },
      },
    },
    project: {
      type: "project",
      uuid: s.project.uuid,
      key: s.project.key,
      name: s.project.name,
      links: {
        self: { href: `${API}/workspaces/${ws.slug}/projects/${s.project.key}` },
        html: { href: `${WEB}/${ws.slug}/workspace/projects/${s.project.key}` },
        avatar: { href: `${WEB}/${ws.slug}/workspace/projects/${s.project.key}/avatar/32?ts=1700000000` },
      },
    },
    links: {
      self: { href: repoApi },
      html: { href: `${WEB}/${full}` },
      avatar: { href: `https://bytebucket.org/ravatar/${enc(s.uuid)}?ts=default` },
      pullrequests: { href: `${repoApi}/pullrequests` },
      commits: { href: `${repoApi}/commits` },
      forks: { href: `${repoApi}/forks` },
      watchers: { href: `${repoApi}/watchers` },
      branches: { href: `${repoApi}/refs/branches` },
      tags: { href: `${repoApi}/refs/tags` },
      downloads: { href: `${repoApi}/downloads` },
      source: { href: `${repoApi}/src` },
      hooks: { href: `${repoApi}/hooks` },
      clone: [
        { name: "https", href: `${WEB}/${full}.git` },
        { name: "ssh", href: `git@bitbucket.org:${full}.git` },
      ],
    },
  };
}

export function condensedRepository(repo: RepositoryJson): CondensedRepositoryJson {
  return {
    type: "repository",
    uuid: repo.uuid,
    name: repo.name,
    full_name: repo.full_name,
    links: {
      self: { href: repo.links.self.href },
      html: { href: repo.links.html.href },
      avatar: { href: repo.links.avatar.href },
    },
  };
}

export function commitJson(fullName: string, hash: string): CommitJson {
  return {
    type: "commit",
    hash,
    links: {
      self: { href: `${API}/repositories/${fullName}/commit/${hash}` },
      html: { href: `${WEB}/${fullName}/commits/${hash}` },
    },
  };
}
