// The connector's config: read, validated against spec.json (so `spec` and validation never
// drift; its defaults are the only ones) plus the rules a schema cannot say (loopback-only http,
// no future start_date).
import { readFileSync } from "node:fs";
import { Ajv, type ErrorObject } from "ajv";
import addFormatsModule from "ajv-formats";
import { normaliseTimestamp } from "./bitbucket/timestamps.js";
import { InputError } from "./errors.js";
import { readShippedJson } from "./package-files.js";

export type Credentials = { auth_type: "bearer"; token: string } | { auth_type: "basic"; email: string; api_token: string };

export interface Config {
  workspace: string;
  credentials: Credentials;
  /** Normalised (see timestamps.ts); runs created before it are not read. */
  startDate?: string;
  repositories?: string[];
  /** Without a trailing slash. */
  apiUrl: string;
  pageSize: number;
  lookbackHours: number;
  maxRetryWaitSeconds: number;
  requestTimeoutSeconds: number;
  concurrency: number;
  maxRequestsPerHour?: number;
  idleRepositoryPollHours: number;
  shard?: { index: number; count: number };
  includeStepCommands: boolean;
  includeCommitMessages: boolean;
  deploymentRules: DeploymentRule[];
}

export interface DeploymentRule {
  name: string;
  environment: string;
  environmentType: "production" | "staging" | "test" | "other";
  /** Conditions; an absent one holds for every run. Patterns match the whole value, case-sensitively. */
  repository?: RegExp;
  /** target.selector.type: the section of bitbucket-pipelines.yml that ran (spec.json lists them). */
  selectorType?: "default" | "branches" | "tags" | "custom" | "pull-requests";
  /** target.selector.pattern, of any selector type. */
  pipeline?: RegExp;
  /** target.ref_name of a run on a branch. */
  branch?: RegExp;
  /** target.ref_name of a run on a tag. */
  tag?: RegExp;
}

type JsonSchema = Record<string, unknown>;
// ajv-formats is CommonJS; under NodeNext its default export arrives wrapped.
const addFormats = addFormatsModule as unknown as (ajv: Ajv) => Ajv;

export function connectionSpecification(): JsonSchema {
  const spec = readShippedJson("spec.json") as { connectionSpecification: JsonSchema };
  return spec.connectionSpecification;
}

/** The config as spec.json describes it, once validated with its defaults filled in. */
interface ConfigInput {
  workspace: string;
  credentials: Credentials;
  start_date?: string;
  repositories?: string[];
  api_url: string;
  page_size: number;
  lookback_hours: number;
  max_retry_wait_seconds: number;
  request_timeout_seconds: number;
  concurrency: number;
  max_requests_per_hour?: number;
  idle_repository_poll_hours: number;
  shard?: { index: number; count: number };
  include_step_commands: boolean;
  include_commit_messages: boolean;
  deployment_rules?: RuleInput[];
}

/** Reads a JSON input file without ever echoing its content (it may hold a token). */
export function readJsonFile(path: string, what: string, emptyMeansNothing = false): unknown {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? "unreadable";
    throw new InputError(`The ${what} file ${path} cannot be read (${code}).`);
  }
  if (emptyMeansNothing && text.trim() === "") return undefined;
  try {
    // Some editors on Windows save a byte-order mark first; it is not JSON but means nothing here.
    return JSON.parse(text.startsWith("\uFEFF") ? text.slice(1) : text);
  } catch (error) {
    throw new InputError(`The ${what} file ${path} is not valid JSON${jsonErrorPosition(text, error)}.`);
  }
}

function jsonErrorPosition(text: string, error: unknown): string {
  const match = /position (\d+)/.exec(String((error as Error).message));
  if (!match) return text.trim() === "" ? " (it is empty)" : "";
  const before = text.slice(0, Number(match[1]));
  const line = before.split("\n").length;
  const column = before.length - before.lastIndexOf("\n");
  return ` (syntax error at line ${line}, column ${column})`;
}

export function loadConfig(path: string, now: Date): Config {
  return parseConfig(readJsonFile(path, "config"), now);
}

export function parseConfig(raw: unknown, now: Date): Config {
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) {
    throw new InputError("The config must be a JSON object with at least workspace and credentials.");
  }
  const input = { ...(raw as Record<string, unknown>) };
  // The spec says "leave empty": a form may send the empty string for that.
  if (input.start_date === "") delete input.start_date;
  const schema = structuredClone(connectionSpecification());
  const properties = schema.properties as Record<string, JsonSchema>;
  const credentialsSchema = properties.credentials as JsonSchema & { oneOf: JsonSchema[] };
  // Validate against the one credentials branch the auth_type names: errors then speak of its
  // fields instead of ajv's "must match exactly one schema in oneOf".
  const credentials = input.credentials;
  if (typeof credentials === "object" && credentials !== null && !Array.isArray(credentials)) {
    const authType = (credentials as Record<string, unknown>).auth_type;
    const branch = credentialsSchema.oneOf.find(
      (b) => (b.properties as Record<string, { const: string }>).auth_type?.const === authType,
    );
    if (!branch) {
      throw new InputError(
        `Config field credentials.auth_type must be "bearer" (access token) or "basic" (Atlassian email and API token), not ${JSON.stringify(authType ?? null)}.`,
      );
    }
    properties.credentials = { ...branch, title: credentialsSchema.title };
  }
  // useDefaults fills in spec.json's defaults: there is no second copy of them.
  const ajv = new Ajv({ allErrors: true, strict: false, useDefaults: true });
  addFormats(ajv);
  const validate = ajv.compile<ConfigInput>(schema);
  if (!validate(input)) throw new InputError(describeSchemaErrors(validate.errors ?? []));
  return toConfig(input, now);
}

function toConfig(input: ConfigInput, now: Date): Config {
  const creds = input.credentials;
  const [secretName, secret] = creds.auth_type === "bearer" ? ["token", creds.token] : ["api_token", creds.api_token];
  // It goes into an HTTP header: a line break or a space left by copy and paste would make every
  // request fail as if the network were down.
  if (!/^[\x21-\x7e]+$/.test(secret)) {
    throw new InputError(
      `Config field credentials.${secretName} contains a space, a line break or a character that is not plain ASCII (often left by copy and paste): paste the token again without it.`,
    );
  }
  const config: Config = {
    workspace: input.workspace,
    credentials:
      creds.auth_type === "bearer"
        ? { auth_type: "bearer", token: creds.token }
        : { auth_type: "basic", email: creds.email, api_token: creds.api_token },
    apiUrl: parseApiUrl(input.api_url),
    pageSize: input.page_size,
    lookbackHours: input.lookback_hours,
    maxRetryWaitSeconds: input.max_retry_wait_seconds,
    requestTimeoutSeconds: input.request_timeout_seconds,
    concurrency: input.concurrency,
    idleRepositoryPollHours: input.idle_repository_poll_hours,
    includeStepCommands: input.include_step_commands,
    includeCommitMessages: input.include_commit_messages,
    deploymentRules: parseDeploymentRules(input.deployment_rules ?? []),
  };
  if (input.max_requests_per_hour !== undefined) config.maxRequestsPerHour = input.max_requests_per_hour;
  const shard = input.shard;
  if (shard) {
    if (shard.index >= shard.count) {
      throw new InputError(`Config field shard.index (${shard.index}) must be less than shard.count (${shard.count}).`);
    }
    config.shard = { index: shard.index, count: shard.count };
  }
  const repositories = input.repositories;
  if (repositories && repositories.length > 0) config.repositories = repositories;
  const startDate = input.start_date;
  if (startDate !== undefined && startDate !== "") {
    const normalised = normaliseTimestamp(startDate);
    if (!normalised) {
      throw new InputError(
        `Config field start_date must be an ISO 8601 date-time such as 2025-01-01T00:00:00Z, not ${JSON.stringify(startDate)}.`,
      );
    }
    if (Date.parse(startDate) > now.getTime()) {
      throw new InputError(`Config field start_date (${startDate}) lies in the future: no run could be read.`);
    }
    config.startDate = normalised;
  }
  return config;
}

function describeSchemaErrors(errors: ErrorObject[]): string {
  const described = errors
    .filter((e) => e.keyword !== "if")
    .map((e) => {
      const field = e.instancePath.replace(/^\//, "").replaceAll("/", ".");
      if (e.keyword === "required") {
        const missing = (e.params as { missingProperty: string }).missingProperty;
        return `${field ? field + "." : ""}${missing} is required`;
      }
      if (e.keyword === "pattern" || e.keyword === "minLength") {
        return `${field} ${e.keyword === "minLength" ? "must not be empty" : "has an invalid format"}`;
      }
      if (e.keyword === "format") return `${field} must be an ISO 8601 date-time such as 2025-01-01T00:00:00Z`;
      return `${field || "config"} ${e.message ?? "is invalid"}`;
    });
  const unique = [...new Set(described)];
  return `Invalid config: ${unique.join("; ")}.`;
}

const LOOPBACK = /^(localhost|127(\.\d{1,3}){3}|\[::1\])$/i;

function parseApiUrl(value: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new InputError(`Config field api_url is not a valid URL: ${JSON.stringify(value)}.`);
  }
  if (url.username || url.password) {
    throw new InputError("Config field api_url must not contain a user name or password: put secrets in credentials.");
  }
  if (url.protocol !== "https:" && url.protocol !== "http:") {
    throw new InputError(`Config field api_url must use https, not ${url.protocol.replace(":", "")}.`);
  }
  if (url.protocol === "http:" && !LOOPBACK.test(url.hostname)) {
    throw new InputError(
      `Config field api_url must use https: plain http is allowed only for a loopback host (127.0.0.1, ::1, localhost), not ${url.hostname}.`,
    );
  }
  if (url.search || url.hash) {
    throw new InputError("Config field api_url must not have a query string or fragment.");
  }
  return url.toString().replace(/\/+$/, "");
}

interface RuleInput {
  name: string;
  environment: string;
  environment_type: DeploymentRule["environmentType"];
  repository_pattern?: string;
  selector_type?: DeploymentRule["selectorType"];
  pipeline_pattern?: string;
  branch_pattern?: string;
  tag_pattern?: string;
}

function parseDeploymentRules(rules: RuleInput[]): DeploymentRule[] {
  const names = new Set<string>();
  return rules.map((rule, index) => {
    if (names.has(rule.name)) throw new InputError(`Config field deployment_rules has two rules named "${rule.name}".`);
    names.add(rule.name);
    const compile = (field: "repository_pattern" | "pipeline_pattern" | "branch_pattern" | "tag_pattern"): RegExp | undefined => {
      const source = rule[field];
      if (source === undefined || source === "") return undefined;
      try {
        return new RegExp(`^(?:${source})$`);
      } catch (error) {
        throw new InputError(
          `Config field deployment_rules[${index}] (rule "${rule.name}") has an invalid ${field} ${JSON.stringify(source)}: ${(error as Error).message.replace(/^Invalid regular expression: /, "")}.`,
        );
      }
    };
    const repository = compile("repository_pattern");
    const pipeline = compile("pipeline_pattern");
    const branch = compile("branch_pattern");
    const tag = compile("tag_pattern");
    const selectorType = rule.selector_type;
    if (!repository && !selectorType && !pipeline && !branch && !tag) {
      throw new InputError(
        `Config field deployment_rules[${index}] (rule "${rule.name}") gives no condition: it would count every run as a deployment. Give repository_pattern, selector_type, pipeline_pattern, branch_pattern or tag_pattern.`,
      );
    }
    return {
      name: rule.name,
      environment: rule.environment,
      environmentType: rule.environment_type,
      ...(repository ? { repository } : {}),
      ...(selectorType ? { selectorType } : {}),
      ...(pipeline ? { pipeline } : {}),
      ...(branch ? { branch } : {}),
      ...(tag ? { tag } : {}),
    };
  });
}
