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
  | "redirect-offsite";

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

export type SelectorJson =
  | { type: "default" }
  | { type: "branches" | "tags" | "custom" | "pull-requests"; pattern: string };

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
  /** Extension: trigger of the new run. Default "push". */
  trigger?: TriggerKind;
  /** Extension: branch the run targets. Default the repository's main branch. */
  branch?: string;
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
  finishRun(repoSlug: string, uuid: string, result?: "SUCCESSFUL" | "FAILED" | "ERROR" | "STOPPED"): PipelineJson;
  rerun(repoSlug: string, uuid: string): PipelineJson;
  addRepository(opts?: { slug?: string }): RepositoryJson;
  touchRepository(slug: string): void;
  deleteRepository(slug: string): void;
  disablePipelines(slug: string): void;
  inject(fault: Fault): void;
  clearFaults(): void;
  close(): Promise<void>;
}
