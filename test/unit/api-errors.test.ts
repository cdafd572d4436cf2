// What an error status from the API tells the user.
import assert from "node:assert/strict";
import { test } from "node:test";
import { describeApiError } from "../../src/bitbucket/errors.js";

const api = "https://api.bitbucket.org/2.0/repositories/acme";

test("a 403 on environments or deployments names the pipeline scope, not the repository one", () => {
  for (const path of ["/web/environments", "/web/deployments", "/web/pipelines"]) {
    const error = describeApiError(403, undefined, `${api}${path}`, "https://api.bitbucket.org");
    assert.equal(error.checkCode, "invalid_permissions");
    assert.match(
      error.message,
      /^The credentials may not read pipelines \(403 on GET api\.bitbucket\.org\/2\.0\/repositories\/acme/,
    );
  }
  assert.match(describeApiError(403, undefined, api, "https://api.bitbucket.org").message, /may not read repositories/);
});

test("a 410 is a config error about the workspace, not a server error", () => {
  const error = describeApiError(410, { type: "error", error: { message: "Gone" } }, api, "https://api.bitbucket.org");
  assert.equal(error.failureType, "config_error");
  assert.equal(error.checkCode, "workspace_not_found");
  assert.match(error.message, /410 on GET api\.bitbucket\.org\/2\.0\/repositories\/acme.*Bitbucket said: "Gone"/);
});
