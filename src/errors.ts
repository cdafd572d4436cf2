// Errors that reach the user, and the one table that says what each kind of failure does: whether
// the client retries it, what the sync does once it stands (skip the repository, fail the
// stream, stop the sync), the protocol's failure type, and the code `check` prints (README:
// "Check codes").
import type { FailureType } from "./protocol/messages.js";

export type FailureKind = keyof typeof FAILURES;
export type CheckCode = (typeof FAILURES)[FailureKind]["checkCode"];

/**
 * - retry: the client tries again within the wait budget (config max_retry_wait_seconds);
 *   the other columns apply once it gives up.
 * - action: skip_repository leaves that repository's state as it was and reads the others (the
 *   stream ends INCOMPLETE at the end); fail_stream ends the streams being read; stop_sync ends
 *   the sync: no further stream is read, since each would meet the same failure.
 */
export const FAILURES = {
  // Bad config, catalog or state: the user must change an input.
  invalid_config: { retry: false, action: "stop_sync", failureType: "config_error", checkCode: "invalid_config" },
  // 401
  invalid_credentials: { retry: false, action: "stop_sync", failureType: "config_error", checkCode: "invalid_credentials" },
  // 403
  invalid_permissions: { retry: false, action: "stop_sync", failureType: "config_error", checkCode: "invalid_permissions" },
  // 404 on the workspace's repository listing, 410 on anything
  workspace_not_found: { retry: false, action: "stop_sync", failureType: "config_error", checkCode: "workspace_not_found" },
  // The credentials see no repository (check), or every repository polled answered 404.
  no_resources: { retry: false, action: "fail_stream", failureType: "config_error", checkCode: "no_resources" },
  // A 404 the stream does not expect.
  not_found: { retry: false, action: "fail_stream", failureType: "system_error", checkCode: "not_found" },
  // 404 "There is no API hosted at this URL": the connector asked a URL the API does not have.
  no_api: { retry: false, action: "fail_stream", failureType: "system_error", checkCode: "not_found" },
  // Another 4xx: a request the API refuses.
  bad_request: { retry: false, action: "fail_stream", failureType: "system_error", checkCode: "server_error" },
  // 429 until the budget is spent: a later sync resumes from the last STATE.
  rate_limited: { retry: true, action: "stop_sync", failureType: "transient_error", checkCode: "rate_limited" },
  // 5xx, 408, and 2xx bodies that are not JSON.
  server_error: { retry: true, action: "skip_repository", failureType: "transient_error", checkCode: "server_error" },
  // A response that is JSON but not what the endpoint sends (a listing without values, a page
  // loop, a body over 64 MB, a record nested too deeply to write).
  bad_response: { retry: false, action: "skip_repository", failureType: "system_error", checkCode: "server_error" },
  // Connection refused or reset, timeouts, DNS.
  unreachable: { retry: true, action: "stop_sync", failureType: "transient_error", checkCode: "unreachable" },
  // A `next` link or redirect to another origin: the token would go there. A security refusal.
  foreign_origin: { retry: false, action: "stop_sync", failureType: "system_error", checkCode: "server_error" },
} as const satisfies Record<
  string,
  { retry: boolean; action: "skip_repository" | "fail_stream" | "stop_sync"; failureType: FailureType; checkCode: string }
>;

export class ConnectorError extends Error {
  constructor(
    message: string,
    readonly kind: FailureKind,
  ) {
    super(message);
    this.name = "ConnectorError";
  }

  get failureType(): FailureType {
    return FAILURES[this.kind].failureType;
  }

  get checkCode(): CheckCode {
    return FAILURES[this.kind].checkCode;
  }

  get action(): (typeof FAILURES)[FailureKind]["action"] {
    return FAILURES[this.kind].action;
  }
}

/** Bad config, catalog or state: the user must change an input. */
export class InputError extends ConnectorError {
  constructor(message: string) {
    super(message, "invalid_config");
  }
}
