// The repositories a sync covers: every repository the credential sees in the workspace, or the
// config's `repositories` slugs. Listed once per sync and shared by the streams that need it.
import { ApiError } from "../bitbucket/errors.js";
import { followNext } from "../bitbucket/paginate.js";
import type { BitbucketClient } from "../bitbucket/client.js";
import type { Config } from "../config.js";
import { ConnectorError } from "../errors.js";

export interface RepositoryRef {
  uuid: string;
  slug: string;
  full_name: string;
}

export interface RepositoryScope {
  /** The in-scope repositories, listed on first use. */
  list(): Promise<RepositoryRef[]>;
  /** Slugs named in the config that the credential cannot see (after list()). */
  missing(): string[];
}

export function repositoriesPath(config: Config): string {
  return `/repositories/${encodeURIComponent(config.workspace)}`;
}

/** Pages of the workspace's repositories; a 404 means the workspace does not exist. */
export async function* workspaceRepositories(
  client: BitbucketClient,
  config: Config,
  query: Record<string, string | number | undefined> = {},
): AsyncGenerator<unknown[]> {
  const url = client.url(repositoriesPath(config), { pagelen: config.pageSize, ...query });
  try {
    for await (const page of followNext(client, url)) yield page.values;
  } catch (error) {
    if (error instanceof ApiError && error.status === 404) {
      throw new ConnectorError(
        `Bitbucket has no workspace "${config.workspace}" that these credentials can see (404). Use the workspace ID from https://bitbucket.org/{workspace}/.`,
        "config_error",
        "workspace_not_found",
      );
    }
    throw error;
  }
}

export function toRepositoryRef(raw: unknown): RepositoryRef | undefined {
  const r = raw as { uuid?: unknown; slug?: unknown; full_name?: unknown; name?: unknown } | null;
  if (!r || typeof r.uuid !== "string") return undefined;
  const fullName = typeof r.full_name === "string" ? r.full_name : undefined;
  const slug = typeof r.slug === "string" ? r.slug : fullName?.split("/")[1];
  if (!slug || !fullName) return undefined;
  return { uuid: r.uuid, slug, full_name: fullName };
}

export function createRepositoryScope(client: BitbucketClient, config: Config): RepositoryScope {
  let listing: Promise<RepositoryRef[]> | undefined;
  let missing: string[] = [];
  const wanted = config.repositories?.map((s) => s.toLowerCase());
  async function load(): Promise<RepositoryRef[]> {
    const found: RepositoryRef[] = [];
    for await (const values of workspaceRepositories(client, config)) {
      for (const raw of values) {
        const ref = toRepositoryRef(raw);
        if (ref && (!wanted || wanted.includes(ref.slug.toLowerCase()))) found.push(ref);
      }
    }
    if (wanted) {
      const seen = new Set(found.map((r) => r.slug.toLowerCase()));
      missing = (config.repositories ?? []).filter((s) => !seen.has(s.toLowerCase()));
    }
    return found;
  }
  return {
    list: () => (listing ??= load()),
    missing: () => missing,
  };
}
