// `check`: what the README's troubleshooting steps do by hand. List the workspace's repositories,
// then ask one repository's pipelines for one run. Always one CONNECTION_STATUS, exit 0; a
// FAILED message starts with a code a UI can map (README: "Check codes").

import type { BitbucketClient } from "../bitbucket/client.js";
import { SCOPES_HELP } from "../bitbucket/errors.js";
import { type Config, loadConfig } from "../config.js";
import { ConnectorError } from "../errors.js";
import { connectionStatus } from "../protocol/messages.js";
import {
  createRepositoryScope,
  type RepositoryRef,
  repositoryPath,
  toRepositoryRef,
  workspaceRepositories,
} from "../streams/repository-scope.js";
import { createClient } from "./client.js";
import type { CommandDeps } from "./deps.js";

/** check answers within about a minute: it does not wait out a long rate-limit window. */
const CHECK_RETRY_WAIT_MS = 30_000;

export async function check(configPath: string, deps: CommandDeps): Promise<number> {
  let client: BitbucketClient | undefined;
  try {
    const config = loadConfig(configPath, new Date(deps.now()));
    client = createClient(config, deps, () => undefined, Math.min(CHECK_RETRY_WAIT_MS, config.maxRetryWaitSeconds * 1000));
    const message = await checkConnection(client, config);
    await deps.out.write(connectionStatus(true, message));
  } catch (error) {
    if (!(error instanceof ConnectorError)) throw error;
    await deps.out.write(connectionStatus(false, `${error.checkCode}: ${error.message}`));
  } finally {
    await client?.close();
  }
  return 0;
}

async function checkConnection(client: BitbucketClient, config: Config): Promise<string> {
  let repos: RepositoryRef[];
  if (config.repositories) {
    const scope = createRepositoryScope(client, config);
    repos = await scope.list();
    const missing = scope.missing();
    if (missing.length > 0) {
      throw new ConnectorError(
        `These repositories are not visible to the credentials in workspace "${config.workspace}": ${missing.join(", ")}. Check the slugs (https://bitbucket.org/${config.workspace}/{slug}) and the token's access.`,
        "invalid_config",
      );
    }
  } else {
    const first = await workspaceRepositories(client, { ...config, pageSize: 1 }).next();
    repos = [...(first.done ? [] : first.value)].map(toRepositoryRef).filter((r): r is RepositoryRef => r !== undefined);
  }
  const repo = repos[0];
  if (!repo) {
    throw new ConnectorError(
      `The credentials see no repository in workspace "${config.workspace}". A repository access token sees only its repository; ${SCOPES_HELP}`,
      "no_resources",
    );
  }
  await client.get(client.url(repositoryPath(config, repo.slug, "/pipelines/"), { pagelen: 1, sort: "-created_on" }), [404]);
  return `Read repositories and pipelines of workspace "${config.workspace}" (checked ${repo.full_name}).`;
}
