// Errors that reach the user. Each carries the protocol's failure type; check codes let a UI map
// a failed `check` to a fix (README: "Check codes").
import type { FailureType } from "./protocol/messages.js";

export type CheckCode =
  | "invalid_config"
  | "invalid_credentials"
  | "invalid_permissions"
  | "workspace_not_found"
  | "no_resources"
  | "not_found"
  | "unreachable"
  | "server_error"
  | "rate_limited";

export class ConnectorError extends Error {
  constructor(
    message: string,
    readonly failureType: FailureType,
    readonly code: CheckCode,
  ) {
    super(message);
    this.name = "ConnectorError";
  }
}

/** Bad config, catalog or state: the user must change an input. */
export class InputError extends ConnectorError {
  constructor(message: string) {
    super(message, "config_error", "invalid_config");
  }
}
