// Response values and the exact error bodies the real API sends (reference §1.2, §3.2, §7).

export interface SimResponse {
  status: number;
  headers: Record<string, string>;
  /** A string is sent as UTF-8. */
  body: string | Buffer;
}

const JSON_TYPE = "application/json; charset=utf-8";

export function json(status: number, body: unknown, headers: Record<string, string> = {}): SimResponse {
  return { status, headers: { "content-type": JSON_TYPE, ...headers }, body: JSON.stringify(body) };
}

/** A JSON body that is already serialised. */
export function rawJson(status: number, body: Buffer): SimResponse {
  return { status, headers: { "content-type": JSON_TYPE }, body };
}

export function text(
  status: number,
  body: string,
  contentType = "text/plain",
  headers: Record<string, string> = {},
): SimResponse {
  return { status, headers: { "content-type": contentType, ...headers }, body };
}

/** The standard 2.0 envelope: {"type":"error","error":{...}}. */
export function apiError(status: number, message: string, extra: Record<string, unknown> = {}): SimResponse {
  return json(status, { type: "error", error: { message, ...extra } });
}

/** Pipelines-service errors have no top-level "type" and a string detail. */
export function pipelinesError(
  status: number,
  message: string,
  key: string,
  detail: string,
  args: Record<string, unknown> = {},
): SimResponse {
  return json(status, { error: { message, data: { arguments: args, key }, detail } });
}

export const LOGIN_FAILED_TEXT =
  "Login failed due to incorrect login credentials or method.\n" +
  "For information on authentication methods and how to authenticate with Bitbucket Cloud, visit: " +
  "https://developer.atlassian.com/cloud/bitbucket/rest/intro/#authentication\n";

export function loginFailed(): SimResponse {
  return text(401, LOGIN_FAILED_TEXT, "text/plain", { "www-authenticate": 'Basic realm="Bitbucket.org HTTP"' });
}

export function invalidToken(): SimResponse {
  return apiError(401, "Token is invalid, expired, or not supported for this endpoint.");
}

export function missingScopes(required: string[], granted: string[]): SimResponse {
  return apiError(403, "Your credentials lack one or more required privilege scopes.", { detail: { required, granted } });
}

export function noApiHere(): SimResponse {
  return apiError(404, "Resource not found", {
    detail:
      "There is no API hosted at this URL.\n\nFor information about our API's, please refer to the documentation at: https://developer.atlassian.com/bitbucket/api/2/reference/",
  });
}

export function noWorkspace(ws: string): SimResponse {
  return apiError(404, `No workspace with identifier '${ws}'.`);
}

export function rateLimited(retryAfter: number | undefined): SimResponse {
  return text(
    429,
    "Rate limit for this resource has been exceeded",
    "text/plain",
    retryAfter !== undefined ? { "retry-after": String(retryAfter) } : {},
  );
}

export function serverError(status: 500 | 502 | 503): SimResponse {
  if (status === 500) return apiError(500, "Something went wrong", { id: "5f0e3c2a9b8d4e7f8a1b2c3d4e5f6a7b" });
  const title = status === 502 ? "502 Bad Gateway" : "503 Service Unavailable";
  return text(
    status,
    `<html><head><title>${title}</title></head><body><h1>${title}</h1></body></html>\n`,
    "text/html; charset=utf-8",
  );
}

export function maintenancePage(): SimResponse {
  return text(200, "<html>Bitbucket is down for maintenance</html>", "text/html; charset=utf-8");
}
