import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { writeJson } from "./helpers/files.js";
import { assertNoSecrets, assertValidMessages } from "./helpers/protocol.js";
import { runConnector } from "./helpers/run.js";
import { BASIC, SECRETS, simConfigFile } from "./helpers/sim-config.js";
import { type Simulator, startSimulator } from "./simulator/index.js";

async function check(config: string) {
  const result = await runConnector(["check", "--config", config]);
  assertValidMessages(result.messages);
  assertNoSecrets(result.stdout + result.stderr, SECRETS);
  assert.equal(result.code, 0, result.stderr);
  assert.equal(result.messages.length, 1);
  const status = result.messages[0]!.connectionStatus as { status: string; message?: string };
  return status;
}

describe("check", () => {
  let sim: Simulator;
  before(async () => {
    sim = await startSimulator({
      credentials: [
        { kind: "bearer", token: "sim-token", scopes: ["repository", "pipeline"] },
        {
          kind: "basic",
          email: "dev@example.com",
          apiToken: "sim-api-token",
          scopes: ["read:repository:bitbucket", "read:pipeline:bitbucket"],
        },
        { kind: "bearer", token: "no-pipeline-scope", scopes: ["repository"] },
        { kind: "bearer", token: "no-repository-scope", scopes: ["pipeline"] },
      ],
    });
  });
  after(() => sim.close());

  test("succeeds with an access token (Bearer), asking repositories then one repository's pipelines", async () => {
    sim.requests.length = 0;
    const status = await check(simConfigFile(sim));
    assert.equal(status.status, "SUCCEEDED");
    assert.deepEqual(
      sim.requests.map((r) => [
        r.auth,
        r.path.replace(/\/repositories\/acme\/[^/]+\/pipelines\/?$/, "/repositories/acme/R/pipelines"),
      ]),
      [
        ["bearer", "/2.0/repositories/acme"],
        ["bearer", "/2.0/repositories/acme/R/pipelines"],
      ],
    );
  });

  test("succeeds with an email and API token (Basic)", async () => {
    sim.requests.length = 0;
    assert.equal((await check(simConfigFile(sim, { credentials: BASIC }))).status, "SUCCEEDED");
    assert.ok(sim.requests.every((r) => r.auth === "basic"));
  });

  const failures: Array<[string, Record<string, unknown>, RegExp]> = [
    ["a wrong access token", { credentials: { auth_type: "bearer", token: "wrong-token" } }, /^invalid_credentials: .*401/],
    [
      "a wrong API token",
      { credentials: { ...BASIC, api_token: "wrong-api-token" } },
      /^invalid_credentials: .*Atlassian account email/,
    ],
    [
      "a token without the pipeline scope",
      { credentials: { auth_type: "bearer", token: "no-pipeline-scope" } },
      /^invalid_permissions: .*pipelines.*read:pipeline:bitbucket/,
    ],
    [
      "a token without the repository scope",
      { credentials: { auth_type: "bearer", token: "no-repository-scope" } },
      /^invalid_permissions: .*repositories.*required: repository/,
    ],
    ["an unknown workspace", { workspace: "acme-typo" }, /^workspace_not_found: .*"acme-typo"/],
    ["a repository slug the token cannot see", { repositories: ["nope-1", "nope-2"] }, /^invalid_config: .*nope-1, nope-2/],
    ["a config without credentials", { credentials: undefined }, /^invalid_config: .*credentials is required/],
    ["an unknown auth_type", { credentials: { auth_type: "oauth", token: "x" } }, /^invalid_config: .*credentials.auth_type/],
    [
      "a token pasted with a line break",
      { credentials: { auth_type: "bearer", token: "sim-token\n" } },
      /^invalid_config: Config field credentials.token contains a space, a line break/,
    ],
    [
      "an API token with a space in it",
      { credentials: { auth_type: "basic", email: "dev@example.com", api_token: "sim-api token" } },
      /^invalid_config: Config field credentials.api_token contains a space/,
    ],
  ];
  for (const [what, overrides, expected] of failures) {
    test(`fails with a mappable code for ${what}`, async () => {
      const status = await check(simConfigFile(sim, overrides));
      assert.equal(status.status, "FAILED");
      assert.match(status.message ?? "", expected);
    });
  }

  test("no_resources when the credential sees no repository", async () => {
    const empty = await startSimulator({ repositories: 0 });
    try {
      const status = await check(simConfigFile(empty));
      assert.equal(status.status, "FAILED");
      assert.match(status.message ?? "", /^no_resources: /);
    } finally {
      await empty.close();
    }
  });

  test("a host that refuses connections gives a message naming the host", async () => {
    const config = writeJson({
      workspace: "acme",
      credentials: { auth_type: "bearer", token: "sim-token" },
      api_url: "http://127.0.0.1:9/2.0",
      max_retry_wait_seconds: 0,
    });
    const status = await check(config);
    assert.equal(status.status, "FAILED");
    assert.match(status.message ?? "", /^unreachable: .*127\.0\.0\.1:9.*connection refused/);
  });
});
