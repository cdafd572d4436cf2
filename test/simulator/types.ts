// Public types of the Bitbucket Cloud simulator (JSON shapes follow shared/reference/bitbucket-api.md §2.4 and §4.4).

export type SimCredential =
  | { kind: "bearer"; token: string; scopes: string[] }
  | { kind: "basic"; email: string; apiToken: string; scopes: string[] };

export interface SimulatorOptions {
  /** PRNG seed; the whole generated workspace is a function of it. Default 1. */
  seed?: number;
  /** Workspace slug. Default "acme". */
  workspace?: string;
  /** Number of generated repositories. Default 3. */
  repositories?: number;
  /** Generated runs per repository (or a function of the repository index). Default 25. */
  runsPerRepository?: number | ((repoIndex: number) => number);
  /** Accepted credentials. Default: bearer "sim-token" and basic "dev@example.com:sim-api-token". */
  credentials?: SimCredential[];
  /** Delay added before every response. Default 0. */
  latencyMs?: number;
  /** Simulated clock start. Default: the current time rounded down to the second. */
  now?: Date;
  /** TCP port to listen on (127.0.0.1). Default 0 (an ephemeral port). */
  port?: number;
}

export interface RequestLogEntry {
  method: string;
  /** Raw (still URL-encoded) path, without the query. */
  path: string;
  /** Decoded query parameters (a literal "+" decodes to a space, as on the real API). */
  query: Record<string, string[]>;
  /** Status sent; 0 when nothing complete was sent (reset, hang, or still pending). */
  status: number;
  auth: "bearer" | "basic" | "none";
  /** Date.now() at arrival. */
  at: number;
}

export type FaultKind =
  | "429"
  | "500"
  | "502"
  | "503"
  | "reset"
  | "truncate"
  | "non-json"
  | "slow"
  | "hang"
  | "redirect-offsite"
  /** 404 "There is no API hosted at this URL", as if the API had moved. */
  | "no-api";

export interface Fault {
  /** Tested against the raw request path+query (e.g. /\/pipelines/). Default: every request. */
  match?: RegExp;
  /** How many matching requests it applies to. Default 1. */
  times?: number;
  /** Let this many matching requests pass first. Default 0. */
  skip?: number;
  kind: FaultKind;
  /** For "slow": delay before the (normal) response. */
  delayMs?: number;
  /** For "429": add a Retry-After header with this many seconds (the real API never does). */
  retryAfter?: number;
  /** Send X-RateLimit-NearLimit: true on the response this fault shapes (bearer requests only). */
  nearLimit?: boolean;
}

export interface Href {
  href: string;
}

export interface AccountJson {
  type: "user" | "team";
  uuid: string;
  account_id?: string;
  display_name: string;
  nickname?: string;
  links: { self: Href; html: Href; avatar: Href };
}

export interface RepositoryJson {
  type: "repository";
  uuid: string;
  full_name: string;
  slug: string;
  name: string;
  description: string;
  scm: "git";
  website: string | null;
  is_private: boolean;
  fork_policy: "allow_forks" | "no_public_forks" | "no_forks";
  language: string;
  size: number;
  has_issues: boolean;
  has_wiki: boolean;
  created_on: string;
  updated_on: string;
  mainbranch: { type: "branch"; name: string };
  parent: null;
  enforced_signed_commits: boolean | null;
  override_settings: { default_merge_strategy: boolean; branching_model: boolean };
  owner: { type: "team"; uuid: string; display_name: string; username: string; links: { self: Href; html: Href; avatar: Href } };
  workspace: { type: "workspace"; uuid: string; slug: string; name: string; links: { self: Href; html: Href; avatar: Href } };
  project: { type: "project"; uuid: string; key: string; name: string; links: { self: Href; html: Href; avatar: Href } };
  links: {
    self: Href;
    html: Href;
    avatar: Href;
    pullrequests: Href;
    commits: Href;
    forks: Href;
    watchers: Href;
    branches: Href;
    tags: Href;
    downloads: Href;
    source: Href;
    hooks: Href;
    clone: { name: "https" | "ssh"; href: string }[];
  };
}

export interface CondensedRepositoryJson {
  type: "repository";
  uuid: string;
  name: string;
  full_name: string;
  links: { self: Href; html: Href; avatar: Href };
}

export interface CommitJson {
  type: "commit";
  hash: string;
  links: { self: Href; html: Href };
}

/** A commit as the commits endpoint lists it (REC atlassian-python-api tests/responses, gildas/bitbucket-cli testdata). */
export interface GitCommitJson {
  type: "commit";
  hash: string;
  /** "2023-02-20T09:38:17+00:00" */
  date: string;
  /** `user` is absent when the author's email maps to no Bitbucket account. */
  author: {
    type: "author";
    raw: string;
    user?: {
      display_name: string;
      links: { self: Href; avatar: Href; html: Href };
      type: "user";
      uuid: string;
      account_id?: string;
      nickname?: string;
    };
  };
  message: string;
  summary: { type: "rendered"; raw: string; markup: "markdown"; html: string };
  links: {
    self: Href;
    html: Href;
    diff: Href;
    approve: Href;
    comments: Href;
    statuses: Href;
    patch: Href;
  };
  parents: { hash: string; links: { self: Href; html: Href }; type: "commit" }[];
  repository: {
    type: "repository";
    full_name: string;
    links: { self: Href; html: Href; avatar: Href };
    name: string;
    uuid: string;
  };
}

export type SelectorJson = { type: "default" } | { type: "branches" | "tags" | "custom" | "pull-requests"; pattern: string };

export interface RefTargetJson {
  type: "pipeline_ref_target";
  ref_type: "branch" | "tag";
  ref_name: string;
  selector: SelectorJson;
  commit: CommitJson;
}

export interface PullRequestTargetJson {
  type: "pipeline_pullrequest_target";
  source: string;
  destination: string;
  destination_commit: { hash: string };
  commit: CommitJson;
  pullrequest: { id: number };
  selector: SelectorJson;
}

export type PipelineTargetJson = RefTargetJson | PullRequestTargetJson;

export type TriggerJson =
  | { type: "pipeline_trigger_push"; name: "PUSH" }
  | { type: "pipeline_trigger_manual"; name: "MANUAL" }
  | { type: "pipeline_trigger_schedule"; name: "SCHEDULE" };

export interface PipelineErrorJson {
  type: "pipeline_error";
  key: string;
  message: string;
}

export interface PipelineStateJson {
  type: "pipeline_state_pending" | "pipeline_state_in_progress" | "pipeline_state_completed";
  name: "PENDING" | "IN_PROGRESS" | "COMPLETED";
  stage?: { type: string; name: "RUNNING" | "PAUSED" | "HALTED" };
  result?: { type: string; name: CompletedResult; error?: PipelineErrorJson; terminator?: AccountJson };
}

export interface PipelineJson {
  type: "pipeline";
  uuid: string;
  build_number: number;
  run_number: number;
  creator?: AccountJson;
  repository: CondensedRepositoryJson;
  target: PipelineTargetJson;
  trigger: TriggerJson;
  state: PipelineStateJson;
  created_on: string;
  completed_on?: string;
  duration_in_seconds: number;
  build_seconds_used: number;
  first_successful: boolean;
  expired: boolean;
  has_variables: boolean;
  links: { self: Href; steps: Href };
}

export type RunState = "PENDING" | "IN_PROGRESS" | "PAUSED" | "HALTED" | "COMPLETED";
export type CompletedResult = "SUCCESSFUL" | "FAILED" | "ERROR" | "STOPPED" | "EXPIRED";
export type TriggerKind = "push" | "manual" | "schedule";

export interface AddRunOptions {
  state?: RunState;
  result?: CompletedResult;
  createdOn?: Date;
  /** Extension: trigger of the new run. Default "push" ("manual" when `deploy` is set). */
  trigger?: TriggerKind;
  /** Extension: branch the run targets. Default the repository's main branch. */
  branch?: string;
  /**
   * Extension: make the run a deploy pipeline with two steps, "Build" then "Deploy to <deploy>" (automatic; a manual
   * gate when the run is PAUSED). Its selector is custom `pattern` (default "deploy-to-<deploy>"). The default state
   * becomes IN_PROGRESS with the deploy step running, so an IN_PROGRESS deployment appears at once in repositories
   * that have environments.
   */
  deploy?: DeployEnvironment;
  /** Extension: a custom selector pattern for the run (e.g. "deploy-prod"); its steps follow the pattern's name. */
  pattern?: string;
  /**
   * Extension: the run targets this tag (ref_type "tag") instead of a branch. Its selector is tags `tagSelector`
   * (a push of the tag), or custom `pattern` when that or `deploy` is given (a custom pipeline run on the tag).
   */
  tag?: string;
  /** Extension: the glob of the `tags:` section a tag push ran (default "v*"). */
  tagSelector?: string;
}

// ---------- steps, environments, deployments (reference §5, §6) ----------

export type DeployEnvironment = "test" | "staging" | "production";
export type StepResult = "SUCCESSFUL" | "FAILED" | "ERROR" | "STOPPED" | "EXPIRED" | "NOT_RUN";

export interface StepCommandJson {
  commandType: "user" | "system";
  command: string;
  name: string;
  action?: string;
}

export interface StepStateJson {
  type: string;
  name: "PENDING" | "READY" | "IN_PROGRESS" | "COMPLETED";
  /** pipeline_step_state_pending_paused (a manual gate waiting) / _pending_halted. */
  stage?: { type: string; name: "PAUSED" | "HALTED" };
  /** `{}` on a manual step that has not been reached yet (REC Faros). */
  result?: { type?: string; name?: StepResult; error?: { key: string; message: string } };
}

export interface StepJson {
  type: "pipeline_step";
  uuid: string;
  /** Absent for unnamed steps. */
  name?: string;
  pipeline: { type: "pipeline"; uuid: string };
  run_number: number;
  trigger: { type: "pipeline_step_trigger_automatic" | "pipeline_step_trigger_manual" };
  state: StepStateJson;
  started_on?: string;
  completed_on?: string;
  duration_in_seconds: number;
  build_seconds_used: number;
  /** camelCase on the real API (quirk 15). Minutes. */
  maxTime: number;
  image: { name: string };
  setup_commands: StepCommandJson[];
  script_commands: StepCommandJson[];
  teardown_commands: StepCommandJson[];
}

export type EnvironmentTypeName = "Test" | "Staging" | "Production";

export interface EnvironmentJson {
  type: "deployment_environment";
  uuid: string;
  name: string;
  slug: string;
  environment_type: { type: "deployment_environment_type"; name: EnvironmentTypeName; rank: number };
  category: { name: EnvironmentTypeName };
  rank: number;
  hidden: boolean;
  lock: { type: "deployment_environment_lock_open"; name: "OPEN" };
  environment_lock_enabled: boolean;
  deployment_gate_enabled: boolean;
  restrictions: { type: "deployment_restrictions_configuration"; admin_only: boolean };
}

export interface DeploymentReleaseJson {
  type: "deployment_release";
  uuid: string;
  pipeline: { type: "pipeline"; uuid: string };
  key: string;
  name: string;
  url: string;
  commit: { type: "commit"; hash: string; links: { html: Href } };
  created_on: string;
}

export type DeploymentStatusName = "SUCCESSFUL" | "FAILED" | "STOPPED";

export type DeploymentStateJson =
  | {
      type: "deployment_state_completed";
      name: "COMPLETED";
      status: { type: `deployment_state_completed_${Lowercase<DeploymentStatusName>}`; name: DeploymentStatusName };
      url: string;
      started_on: string;
      completed_on: string;
    }
  | { type: "deployment_state_in_progress"; name: "IN_PROGRESS"; url: string; started_on: string }
  | { type: "deployment_state_undeployed"; name: "UNDEPLOYED"; status: Record<string, never> };

export interface DeploymentJson {
  type: "deployment";
  uuid: string;
  /** "steps-{<step uuid>}" */
  key: string;
  version: number;
  step: { uuid: string };
  /**
   * Condensed: only the uuid (quirk 14); the rest is at /environments/{uuid}, or embedded on request with
   * `fields=+values.environment.name,+values.environment.environment_type.name` (reference §6.2).
   */
  environment: { uuid: string; name?: string; environment_type?: Partial<EnvironmentJson["environment_type"]> };
  release: DeploymentReleaseJson;
  /** Identical to `release`. */
  deployable: DeploymentReleaseJson;
  state: DeploymentStateJson;
  /** Absent on UNDEPLOYED rows. */
  last_update_time?: string;
}

export interface Simulator {
  /** "http://127.0.0.1:PORT/2.0": the api_url a config uses. */
  url: string;
  /** "http://127.0.0.1:PORT" */
  origin: string;
  workspace: string;
  /** Every request, in arrival order. */
  requests: RequestLogEntry[];
  clock: { now(): Date; advance(ms: number): void };
  /** Current raw API objects (copies), in creation order; deleted repositories excluded. */
  repositories(): RepositoryJson[];
  /** Current raw API objects (copies) of one repository, oldest first. */
  runs(repoSlug: string): PipelineJson[];
  addRun(repoSlug: string, opts?: AddRunOptions): PipelineJson;
  /** Current step objects (copies) of one run, in execution order. */
  steps(repoSlug: string, pipelineUuid: string): StepJson[];
  /** Current environment objects (copies) of one repository, by rank; [] for repositories without environments. */
  environments(repoSlug: string): EnvironmentJson[];
  /** Current deployment rows (copies) of one repository, in the order GET .../deployments lists them. */
  deployments(repoSlug: string): DeploymentJson[];
  /**
   * What `GET .../commits/{revision}?exclude=...` lists, every page together, newest first: the commits reachable
   * from `revision` (a hash, a unique prefix or a branch name) and from none of `exclude`. Throws on an unknown
   * revision. Tests take their expected commit sets from here.
   */
  commitsBetween(repoSlug: string, revision: string, exclude?: string | readonly string[]): GitCommitJson[];
  finishRun(repoSlug: string, uuid: string, result?: "SUCCESSFUL" | "FAILED" | "ERROR" | "STOPPED"): PipelineJson;
  rerun(repoSlug: string, uuid: string): PipelineJson;
  addRepository(opts?: { slug?: string }): RepositoryJson;
  touchRepository(slug: string): void;
  deleteRepository(slug: string): void;
  disablePipelines(slug: string): void;
  /**
   * The repository's environments listing stops showing environments its deployments still name (as when an
   * environment was deleted, or the listing fails): "all" lists none, "404" answers 404 Not found, a list of uuids
   * leaves those out. environments() still returns every environment, and the deployments listing still embeds
   * them on request (fields=+values.environment.name) unless `deleted`.
   */
  hideEnvironments(slug: string, which: "all" | "404" | string[], opts?: { deleted?: boolean }): void;
  inject(fault: Fault): void;
  clearFaults(): void;
  close(): Promise<void>;
}
