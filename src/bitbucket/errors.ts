// Turns Bitbucket's error responses into errors a user can act on. Bodies vary: JSON envelopes
// whose `detail` is a string or an object, envelopes without "type", plain text for a bad Basic
// login and for 429 (API notes §1.2 and quirk 9).
import { ConnectorError, type FailureKind } from "../errors.js";

export const SCOPES_HELP =
  "An access token needs the scopes repository and pipeline; an API token needs read:repository:bitbucket and read:pipeline:bitbucket.";

export class ApiError extends ConnectorError {
  constructor(
    message: string,
    kind: FailureKind,
    readonly status: number,
  ) {
    super(message, kind);
    this.name = "ApiError";
  }
}

/** What an HTTP status means (src/errors.ts says what each kind then does). */
export function kindOfStatus(status: number, body: unknown): FailureKind | "ok" {
  if (status >= 200 && status < 300) return "ok";
  if (status === 429) return "rate_limited";
  if (status === 408 || status >= 500) return "server_error";
  if (status === 401) return "invalid_credentials";
  if (status === 403) return "invalid_permissions";
  if (status === 404) return saysNoApiHere(body) ? "no_api" : "not_found";
  if (status === 410) return "workspace_not_found";
  return "bad_request";
}

export function errorMessageOf(body: unknown): string | undefined {
  if (typeof body === "string") return body.trim().split("\n")[0]?.slice(0, 200) || undefined;
  if (typeof body !== "object" || body === null) return undefined;
  const error = (body as { error?: { message?: unknown; detail?: unknown } }).error;
  if (!error || typeof error.message !== "string") return undefined;
  const detail = error.detail;
  if (typeof detail === "string" && detail) return `${error.message} ${detail}`.slice(0, 300);
  if (detail && typeof detail === "object") {
    const { required, granted } = detail as { required?: unknown; granted?: unknown };
    if (Array.isArray(required)) {
      return `${error.message} (required: ${required.join(", ")}; granted: ${Array.isArray(granted) ? granted.join(", ") || "none" : "unknown"})`;
    }
  }
  return error.message;
}

/**
 * A 404 that says no API is served at the URL: the connector asked the wrong thing, or the API
 * moved (API notes §3.1). Never "this repository has nothing", so never skipped.
 */
function saysNoApiHere(body: unknown): boolean {
  return /no API hosted at this URL/i.test(errorMessageOf(body) ?? "");
}

export function describeApiError(status: number, body: unknown, url: string, origin: string): ApiError {
  const u = new URL(url);
  const where = `GET ${u.host}${u.pathname}`;
  const said = errorMessageOf(body);
  const quoted = said ? ` Bitbucket said: "${said}".` : "";
  switch (status) {
    case 401:
      return new ApiError(
        `Bitbucket rejected the credentials (401 on ${where}).${quoted} Check the token: an access token is sent as Bearer; an API token needs the Atlassian account email (not the username). App passwords no longer work.`,
        "invalid_credentials",
        status,
      );
    case 403:
      return new ApiError(
        `The credentials may not read ${/\/(pipelines|environments|deployments)/.test(u.pathname) ? "pipelines" : "repositories"} (403 on ${where}).${quoted} ${SCOPES_HELP}`,
        "invalid_permissions",
        status,
      );
    case 404:
      if (saysNoApiHere(body)) {
        return new ApiError(
          `${where} answered 404: Bitbucket serves no API at this URL.${quoted} The connector asked for a URL the API does not have (or the API moved): this is not an empty repository. Please report it with this message; a newer connector version may fix it.`,
          "no_api",
          status,
        );
      }
      return new ApiError(`${where} answered 404.${quoted}`, "not_found", status);
    case 410:
      return new ApiError(
        `Bitbucket says this is gone for good (410 on ${where}; a workspace marked as spam answers this).${quoted} Check the workspace in the config.`,
        "workspace_not_found",
        status,
      );
    default:
      return new ApiError(
        `${where} failed with ${status} at ${origin}.${quoted}`,
        kindOfStatus(status, body) as FailureKind,
        status,
      );
  }
}
