// Authentication and scope checks (reference §1.1, §1.2).

import { invalidToken, loginFailed, missingScopes, type SimResponse } from "./responses.js";
import type { SimCredential } from "./types.js";

export type AuthKind = "bearer" | "basic" | "none";

export function authKind(header: string | undefined): AuthKind {
  if (header === undefined) return "none";
  if (/^bearer\s/i.test(header)) return "bearer";
  if (/^basic\s/i.test(header)) return "basic";
  return "none";
}

export type AuthResult = { ok: true; credential: SimCredential } | { ok: false; response: SimResponse };

export function authenticate(header: string | undefined, credentials: readonly SimCredential[]): AuthResult {
  if (header === undefined) return { ok: false, response: loginFailed() };
  const bearer = /^bearer\s+(\S+)\s*$/i.exec(header);
  if (bearer) {
    const token = bearer[1];
    const credential = credentials.find((c) => c.kind === "bearer" && c.token === token);
    return credential ? { ok: true, credential } : { ok: false, response: invalidToken() };
  }
  const basic = /^basic\s+(\S+)\s*$/i.exec(header);
  if (basic) {
    const decoded = Buffer.from(basic[1] ?? "", "base64").toString("utf8");
    const colon = decoded.indexOf(":");
    if (colon > 0) {
      const email = decoded.slice(0, colon);
      const secret = decoded.slice(colon + 1);
      const credential = credentials.find((c) => c.kind === "basic" && c.email === email && c.apiToken === secret);
      if (credential) return { ok: true, credential };
    }
  }
  return { ok: false, response: loginFailed() };
}

export type Resource = "repository" | "pipeline" | "workspace" | "account";

// Access tokens / OAuth use coarse scopes where the "write"/"admin" variants imply read. API-token scopes do not
// imply each other (reference §1.1).
const BEARER_SCOPES: Record<Resource, { required: string | undefined; accepted: string[] }> = {
  repository: { required: "repository", accepted: ["repository", "repository:write", "repository:admin", "repository:delete"] },
  pipeline: { required: "pipeline", accepted: ["pipeline", "pipeline:write", "pipeline:variable"] },
  workspace: { required: undefined, accepted: [] },
  account: { required: "account", accepted: ["account", "account:write"] },
};

const BASIC_SCOPES: Record<Resource, string> = {
  repository: "read:repository:bitbucket",
  pipeline: "read:pipeline:bitbucket",
  workspace: "read:workspace:bitbucket",
  account: "read:user:bitbucket",
};

/** undefined when the credential may read `resource`, else the 403 to send. */
export function checkScope(credential: SimCredential, resource: Resource): SimResponse | undefined {
  if (credential.kind === "bearer") {
    const rule = BEARER_SCOPES[resource];
    if (rule.required === undefined || credential.scopes.some((s) => rule.accepted.includes(s))) return undefined;
    return missingScopes([rule.required], [...credential.scopes]);
  }
  const needed = BASIC_SCOPES[resource];
  return credential.scopes.includes(needed) ? undefined : missingScopes([needed], [...credential.scopes]);
}
