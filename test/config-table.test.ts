// The README's "Config" table is generated from spec.json (scripts/config-table.ts); this fails
// when they drift, and checks the generator itself on small inputs.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, test } from "node:test";
import {
  configTable,
  END_MARKER,
  type PropertySchema,
  README_PATH,
  readSpec,
  START_MARKER,
  tableInReadme,
  withTable,
} from "../scripts/config-table.js";

const FIX = "run npm run docs:config";

describe("README config table", () => {
  test("README.md's table between the markers is the one generated from spec.json", () => {
    const readme = readFileSync(README_PATH, "utf8");
    const actual = tableInReadme(readme);
    if (actual === undefined) {
      assert.fail(`README.md has no ${START_MARKER} … ${END_MARKER} markers around its Config table: ${FIX}.`);
    }
    assert.equal(actual, configTable(readSpec()), `README.md's Config table differs from spec.json: ${FIX}.`);
  });

  test("every top-level spec field has exactly one row, in spec order, with its required flag", () => {
    const spec = readSpec();
    const root = spec.connectionSpecification;
    const rows = configTable(spec).split("\n").slice(2);
    const names = rows.map((r) => /^\| `([^`]+)` \|/.exec(r)?.[1]);
    const expected = Object.entries(root.properties ?? {})
      .sort(([, a], [, b]) => (a.order ?? 0) - (b.order ?? 0))
      .map(([name]) => name);
    assert.deepEqual(names, expected);
    for (const row of rows) {
      const [, name, required] = /^\| `([^`]+)` \| (yes|no) \|/.exec(row) ?? [];
      assert.equal(required, (root.required ?? []).includes(name!) ? "yes" : "no", row);
    }
  });

  test("nested fields are described: both credential kinds, the shard and the rule fields", () => {
    const table = configTable(readSpec());
    const row = (name: string): string => table.split("\n").find((r) => r.startsWith(`| \`${name}\` |`)) ?? "";
    assert.match(row("credentials"), /`\{"auth_type": "bearer", "token": "…"\}`/);
    assert.match(row("credentials"), /`\{"auth_type": "basic", "email": "…", "api_token": "…"\}`/);
    assert.match(row("credentials"), /`token` \(required, secret\)/);
    assert.match(row("credentials"), /`api_token` \(required, secret\)/);
    assert.match(row("shard"), /`index` \(required, at least 0\)/);
    assert.match(row("shard"), /`count` \(required, 1 to 1000\)/);
    for (const field of ["name", "environment", "environment_type", "repository_pattern", "pipeline_pattern", "branch_pattern"]) {
      assert.match(row("deployment_rules"), new RegExp(`\`${field}\``), field);
    }
    assert.match(row("api_url"), /\| `https:\/\/api\.bitbucket\.org\/2\.0` \|/, "string defaults are shown bare");
    assert.match(row("page_size"), /\| `100` \|.*Allowed: 1 to 100\./);
  });

  test("a pipe or a line break in a description cannot break the table", () => {
    const spec = {
      connectionSpecification: {
        properties: { branch: { type: "string", description: "main|master\nor release" } as PropertySchema },
      },
    };
    assert.equal(configTable(spec).split("\n")[2], "| `branch` | no |  | main\\|master or release. |");
  });

  test("--write replaces the text between the markers and nothing else, idempotently", () => {
    const readme = `# T\n\n## Config\n\nintro\n\n${START_MARKER}\n| old |\n${END_MARKER}\n\nafter\n`;
    const once = withTable(readme, "| new |\n|---|");
    assert.equal(once, `# T\n\n## Config\n\nintro\n\n${START_MARKER}\n| new |\n|---|\n${END_MARKER}\n\nafter\n`);
    assert.equal(withTable(once, "| new |\n|---|"), once);
  });

  test("--write without markers replaces the first table under ## Config with markers and the table", () => {
    const readme = "# T\n\n## Config\n\n| a | b |\n|---|---|\n| x | y |\n\nSecrets are masked.\n\n## Streams\n\n| s |\n";
    assert.equal(
      withTable(readme, "| gen |"),
      `# T\n\n## Config\n\n${START_MARKER}\n| gen |\n${END_MARKER}\n\nSecrets are masked.\n\n## Streams\n\n| s |\n`,
    );
    assert.throws(() => withTable("# T\n\n## Other\n", "| gen |"), /neither the markers/);
    assert.throws(() => withTable("# T\n\n## Config\n\ntext\n\n## Streams\n\n| s |\n", "| gen |"), /no table under "## Config"/);
  });
});
