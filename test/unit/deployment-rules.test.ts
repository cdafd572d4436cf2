import assert from "node:assert/strict";
import { test } from "node:test";
import { parseConfig } from "../../src/config.js";
import { matches } from "../../src/streams/deployments.js";

const base = { workspace: "acme", credentials: { auth_type: "bearer", token: "t0ken" } };
const rules = (deployment_rules: unknown[]) => parseConfig({ ...base, deployment_rules }, new Date()).deploymentRules;
const run = (ref_name?: string, pattern?: string) => ({
  target: { ref_name, selector: pattern ? { type: "custom", pattern } : { type: "default" } },
});

test("a rule matches when every pattern it gives matches the whole value, case-sensitively", () => {
  const [rule] = rules([
    { name: "prod", environment: "production", branch_pattern: "main|release/.*", repository_pattern: "web-.*" },
  ]);
  assert.ok(matches(rule!, "web-app", run("main")));
  assert.ok(matches(rule!, "web-app", run("release/2.1")));
  assert.ok(!matches(rule!, "web-app", run("maintenance")), "anchored at the end");
  assert.ok(!matches(rule!, "web-app", run("hotfix/main")), "anchored at the start");
  assert.ok(!matches(rule!, "web-app", run("Main")), "case-sensitive");
  assert.ok(!matches(rule!, "api", run("main")), "the repository pattern must match too");
  assert.ok(!matches(rule!, "web-app", run(undefined)), "a missing branch never matches");
});

test("the pipeline pattern matches the custom pipeline's name", () => {
  const [rule] = rules([
    { name: "custom", environment: "production", environment_type: "production", pipeline_pattern: "deploy-to-production" },
  ]);
  assert.equal(rule!.environmentType, "production");
  assert.ok(matches(rule!, "any", run("main", "deploy-to-production")));
  assert.ok(!matches(rule!, "any", run("main")), "a default pipeline has no pattern");
});

test("bad rules are config errors naming the rule", () => {
  assert.throws(
    () => rules([{ name: "broken", environment: "production", branch_pattern: "release/(" }]),
    /deployment_rules\[0\] \(rule "broken"\) has an invalid branch_pattern "release\/\("/,
  );
  assert.throws(() => rules([{ name: "everything", environment: "production" }]), /rule "everything"\) gives no pattern/);
  assert.throws(
    () =>
      rules([
        { name: "a", environment: "x", branch_pattern: "a" },
        { name: "a", environment: "y", branch_pattern: "b" },
      ]),
    /two rules named "a"/,
  );
  assert.throws(
    () => rules([{ name: "typed", environment: "x", environment_type: "prod", branch_pattern: "a" }]),
    /environment_type/,
  );
  assert.deepEqual(rules([]), []);
});

test("a ref_name of null (a pull-request run, as the API sends it) matches no branch pattern", () => {
  const [rule] = rules([{ name: "any-branch", environment: "ci", branch_pattern: ".*" }]);
  const pullRequestRun = {
    target: { type: "pipeline_pullrequest_target", ref_name: null, selector: { type: "pull-requests", pattern: "**" } },
  };
  assert.ok(!matches(rule!, "web-app", pullRequestRun), 'null is not the branch "null"');
  assert.ok(matches(rule!, "web-app", run("main")));
});
