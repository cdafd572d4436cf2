// Builds the Bitbucket client for a command from the config and the injected clock.
import { BitbucketClient } from "../bitbucket/client.js";
import type { Config } from "../config.js";
import type { CommandDeps } from "./deps.js";

export function createClient(
  config: Config,
  deps: CommandDeps,
  log: (level: "INFO" | "WARN", message: string) => void,
  maxRetryWaitMs = config.maxRetryWaitSeconds * 1000,
): BitbucketClient {
  return new BitbucketClient({
    apiUrl: config.apiUrl,
    credentials: config.credentials,
    maxRetryWaitMs,
    requestTimeoutMs: deps.requestTimeoutMs ?? config.requestTimeoutSeconds * 1000,
    ...(config.maxRequestsPerHour ? { maxRequestsPerHour: config.maxRequestsPerHour } : {}),
    sleep: deps.sleep,
    signal: deps.out.closedSignal,
    now: deps.now,
    log,
  });
}
