// The repositories a sync covers: every repository the credential sees in the workspace, or the
// config's `repositories` slugs. Listed once per sync and shared by the streams that need it.

import type { BitbucketClient } from "../bitbucket/client.js";
import { ApiError } from "../bitbucket/errors.js";
import { followNext } from "../bitbucket/paginate.js";
import { normaliseTimestamp } from "../bitbucket/timestamps.js";
import type { Config } from "../config.js";
import { ConnectorError } from "../errors.js";

export interface RepositoryRef {
  uuid: string;
  slug: string;
  full_name: string;
  /** Normalised (timestamps.ts); a push changes it, a scheduled or manual run does not. */
  updatedOn?: string;
}

export interface RepositoryScope {
  /** The in-scope repositories, listed on first use. */
  list(): Promise<RepositoryRef[]>;
  /**
   * The same, as the API returned them, for the repositories stream. Handed over once: held for
   * the whole sync, a large workspace's listing was the biggest thing in memory.
   */
  takeRaw(): Promise<unknown[]>;
  /** Whether a repository belongs to this sync (the `repositories` filter and the shard). */
  includes(ref: RepositoryRef): boolean;
  /** Slugs named in the config that the credential cannot see (after list()). */
  missing(): string[];
}

export function repositoriesPath(config: Config): string {
  return `/repositories/${encodeURIComponent(config.workspace)}`;
}

/** An API path under one repository, e.g. repositoryPath(config, "web-app", "/pipelines"). */
export function repositoryPath(config: Config, slug: string, suffix = ""): string {
  return `${repositoriesPath(config)}/${encodeURIComponent(slug)}${suffix}`;
}

/** Pages of the workspace's repositories; a 404 means the workspace does not exist. */
export async function* workspaceRepositories(
  client: BitbucketClient,
  config: Config,
  query: Record<string, string | number | undefined> = {},
): AsyncGenerator<readonly unknown[]> {
  const url = client.url(repositoriesPath(config), { pagelen: config.pageSize, ...query });
  try {
    for await (const page of followNext(client, url)) yield page.values;
  } catch (error) {
    if (error instanceof ApiError && error.status === 404) {
      throw new ConnectorError(
        `Bitbucket has no workspace "${config.workspace}" that these credentials can see (404). Use the workspace ID from https://bitbucket.org/{workspace}/.`,
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
  const updated = (raw as { updated_on?: unknown }).updated_on;
  const updatedOn = typeof updated === "string" ? normaliseTimestamp(updated) : undefined;
  return { uuid: r.uuid, slug, full_name: fullName, ...(updatedOn ? { updatedOn } : {}) };
}

/** `keepRaw`: keep the API's objects for takeRaw() (only the repositories stream needs them). */
export function createRepositoryScope(client: BitbucketClient, config: Config, keepRaw = false): RepositoryScope {
  let listing: Promise<{ refs: RepositoryRef[]; raw: unknown[] }> | undefined;
  let missing: string[] = [];
  const wanted = config.repositories?.map((s) => s.toLowerCase());
  const includes = (ref: RepositoryRef): boolean =>
    (!wanted || wanted.includes(ref.slug.toLowerCase())) &&
    (!config.shard || shardOf(ref.uuid, config.shard.count) === config.shard.index);
  async function load(): Promise<{ refs: RepositoryRef[]; raw: unknown[] }> {
    const refs: RepositoryRef[] = [];
    const raw: unknown[] = [];
    const seen = new Set<string>();
    // Without the repositories stream only these fields are needed: a tenth of the bytes. Oldest
    // first, so a repository created mid-listing lands on the last page instead of shifting every
    // row after it (the default order is not documented).
    const fields = keepRaw ? {} : { fields: "next,size,values.uuid,values.slug,values.full_name,values.updated_on" };
    const query = { ...fields, sort: "created_on" };
    for await (const values of workspaceRepositories(client, config, query)) {
      for (const value of values) {
        const ref = toRepositoryRef(value);
        // A repository listed twice (pages shifted by a change mid-listing) counts once.
        if (!ref || seen.has(ref.uuid) || !includes(ref)) continue;
        seen.add(ref.uuid);
        refs.push(ref);
        if (keepRaw) raw.push(value);
      }
    }
    if (wanted) {
      const found = new Set(refs.map((r) => r.slug.toLowerCase()));
      missing = (config.repositories ?? []).filter((s) => !found.has(s.toLowerCase()));
    }
    return { refs, raw };
  }
  const loaded = (): Promise<{ refs: RepositoryRef[]; raw: unknown[] }> => {
    listing ??= load();
    return listing;
  };
  return {
    list: async () => (await loaded()).refs,
    takeRaw: async () => {
      const listed = await loaded();
      const raw = listed.raw;
      listed.raw = [];
      return raw;
    },
    includes,
    missing: () => missing,
  };
}

/** A stable shard for a repository: FNV-1a of its uuid, modulo the shard count. */
export function shardOf(uuid: string, count: number): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < uuid.length; i++) {
    hash ^= uuid.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash % count;
}
