import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { MASK, secretsRedactor } from "../../src/redact.js";

function redactorFor(credentials: Record<string, string>): ReturnType<typeof secretsRedactor> {
  const path = join(mkdtempSync(join(tmpdir(), "redact-")), "config.json");
  writeFileSync(path, JSON.stringify({ workspace: "acme", credentials }));
  return secretsRedactor(["read", "--config", path]);
}

test("an output line holding a token comes out masked, the escaped form too", () => {
  const token = 'tok"en-with\\quote';
  const redact = redactorFor({ auth_type: "bearer", token });
  const line = `{"type":"RECORD","record":{"data":${JSON.stringify({ a: token, b: `x ${token} y` })}}}\n`;
  const masked = redact(line);
  assert.ok(!masked.includes(JSON.stringify(token).slice(1, -1)), masked);
  assert.equal(masked.split(MASK).length - 1, 2);
  assert.deepEqual(JSON.parse(masked).record.data, { a: MASK, b: `x ${MASK} y` });
  assert.equal(redact(`token ${token}`), `token ${MASK}`);
});

test("a line without a secret is unchanged; the Basic pair's base64 is masked", () => {
  const redact = redactorFor({ auth_type: "basic", email: "dev@example.com", api_token: "sim-api-token" });
  const line = '{"type":"LOG","log":{"level":"INFO","message":"é ok"}}\n';
  assert.equal(redact(line), line);
  const basic = Buffer.from("dev@example.com:sim-api-token").toString("base64");
  assert.equal(redact(`Authorization: Basic ${basic}`), `Authorization: Basic ${MASK}`);
});
