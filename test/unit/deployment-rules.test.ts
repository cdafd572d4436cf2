import assert from "node:assert/strict";
import { test } from "node:test";
import { parseConfig } from "../../src/config.js";
import { matches } from "../../src/streams/deployment-records.js";

const base = { workspace: "acme", credentials: { auth_type: "bearer", token: "t0ken" } };
const rules = (deployment_rules: unknown[]) => parseConfig({ ...base, deployment_rules }, new Date()).deploymentRules;
const rule = (fields: Record<string, string>) => rules([{ name: "r", environment: "production", ...fields }])[0]!;
type Selector = { type: string; pattern?: string };
/** A run's target as the API sends it (ref_type "branch", "named_branch", "tag" or "annotated_tag"). */
const on = (ref_type: string | undefined, ref_name: string | undefined, selector: Selector) => ({
  target: { type: "pipeline_ref_target", ref_type, ref_name, selector },
});
const branch = (name: string | undefined, selector: Selector = { type: "branches", pattern: name ?? "" }) =>
  on("branch", name, selector);
const tag = (name: string, selector: Selector = { type: "tags", pattern: "v*" }) => on("tag", name, selector);
const custom = (pattern: string) => ({ type: "custom", pattern });
const pullRequest = {
  target: {
    type: "pipeline_pullrequest_target",
    source: "main",
    destination: "main",
    selector: { type: "pull-requests", pattern: "**" },
  },
};

test("a rule matches when every pattern it gives matches the whole value, case-sensitively", () => {
  const r = rule({ branch_pattern: "main|release/.*", repository_pattern: "web-.*" });
  assert.ok(matches(r, "web-app", branch("main")));
  assert.ok(matches(r, "web-app", branch("release/2.1")));
  assert.ok(!matches(r, "web-app", branch("maintenance")), "anchored at the end");
  assert.ok(!matches(r, "web-app", branch("hotfix/main")), "anchored at the start");
  assert.ok(!matches(r, "web-app", branch("Main")), "case-sensitive");
  assert.ok(!matches(r, "api", branch("main")), "the repository pattern must match too");
  assert.ok(!matches(r, "web-app", branch(undefined)), "a missing branch never matches");
});

test("branch_pattern matches branch targets only, never a tag named like the branch", () => {
  const r = rule({ branch_pattern: "main|release/.*" });
  assert.ok(matches(r, "any", branch("main", custom("deploy-to-production"))), "a custom pipeline run on the branch");
  assert.ok(matches(r, "any", on("named_branch", "release/1.0", { type: "branches", pattern: "release/*" })));
  assert.ok(!matches(r, "any", tag("main")), "a tag called main");
  assert.ok(!matches(r, "any", on("annotated_tag", "release/1.0", { type: "tags", pattern: "release/*" })));
  assert.ok(!matches(r, "any", on(undefined, "main", { type: "default" })), "no ref_type: not known to be a branch");
  assert.ok(!matches(r, "any", pullRequest), "a pull request's target has no ref_name");
});

test("tag_pattern matches tag targets only: a tag v* deploys to production", () => {
  const r = rule({ tag_pattern: "v.*" });
  assert.equal(r.tag?.source, "^(?:v.*)$");
  assert.ok(matches(r, "any", tag("v1.2.0")));
  assert.ok(matches(r, "any", on("annotated_tag", "v2.0.0", { type: "tags", pattern: "v*" })));
  assert.ok(matches(r, "any", tag("v1.2.0", custom("deploy-to-production"))), "a custom pipeline run on the tag");
  assert.ok(!matches(r, "any", branch("v1")), "a branch named like a tag");
  assert.ok(!matches(r, "any", tag("release-1")), "the whole tag name");
  assert.ok(!matches(r, "any", pullRequest));
  const pushed = rule({ tag_pattern: "v.*", selector_type: "tags" });
  assert.ok(matches(pushed, "any", tag("v1.2.0")));
  assert.ok(!matches(pushed, "any", tag("v1.2.0", custom("deploy-to-production"))), "narrowed to tag pushes");
});

test("pipeline_pattern matches the selector pattern of any type, unless selector_type narrows it", () => {
  const any = rule({ pipeline_pattern: "deploy-.*" });
  assert.ok(matches(any, "any", branch("main", custom("deploy-prod"))));
  assert.ok(matches(any, "any", tag("deploy-2025.06", { type: "tags", pattern: "deploy-*" })), "the tags glob");
  assert.ok(!matches(any, "any", branch("feature/x", { type: "default" })), "a default pipeline has no pattern");

  // The bug: a tag push whose `tags:` glob matches a custom pipeline's rule was counted as a deployment.
  const customOnly = rule({ pipeline_pattern: "deploy-.*", selector_type: "custom" });
  assert.ok(matches(customOnly, "any", branch("main", custom("deploy-prod"))));
  assert.ok(matches(customOnly, "any", tag("v1.0.0", custom("deploy-prod"))), "a custom pipeline run on a tag");
  assert.ok(!matches(customOnly, "any", tag("deploy-2025.06", { type: "tags", pattern: "deploy-*" })));
  assert.ok(!matches(customOnly, "any", branch("deploy-x", { type: "branches", pattern: "deploy-*" })));
  assert.ok(!matches(customOnly, "any", { target: { selector: { pattern: "deploy-prod" } } }), "no selector type");
});

test("selector_type alone counts every run of that kind of pipeline", () => {
  const r = rule({ selector_type: "custom" });
  assert.equal(r.selectorType, "custom");
  assert.ok(matches(r, "any", branch("main", custom("anything"))));
  assert.ok(!matches(r, "any", branch("main")));
  const prs = rule({ selector_type: "pull-requests", repository_pattern: "web-.*" });
  assert.ok(matches(prs, "web-app", pullRequest));
  assert.ok(!matches(prs, "api", pullRequest));
  assert.ok(matches(rule({ selector_type: "default" }), "any", branch("feature/x", { type: "default" })));
});

test("bad rules are config errors naming the rule", () => {
  assert.throws(
    () => rules([{ name: "broken", environment: "production", branch_pattern: "release/(" }]),
    /deployment_rules\[0\] \(rule "broken"\) has an invalid branch_pattern "release\/\("/,
  );
  assert.throws(
    () => rules([{ name: "tags", environment: "production", tag_pattern: "v[" }]),
    /\(rule "tags"\) has an invalid tag_pattern "v\["/,
  );
  assert.throws(
    () => rules([{ name: "everything", environment: "production" }]),
    /rule "everything"\) gives no condition: it would count every run as a deployment. Give repository_pattern, selector_type, pipeline_pattern, branch_pattern or tag_pattern/,
  );
  assert.throws(
    () => rules([{ name: "empty", environment: "production", branch_pattern: "" }]),
    /rule "empty"\) gives no condition/,
  );
  assert.throws(
    () => rules([{ name: "typo", environment: "production", selector_type: "tag" }]),
    /deployment_rules\.0\.selector_type must be equal to one of the allowed values/,
  );
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
  assert.ok(matches(rule!, "web-app", branch("main")));
});
