// The writer keeps stdout one JSON object a line, even when a record cannot be serialised.
import assert from "node:assert/strict";
import { PassThrough } from "node:stream";
import { test } from "node:test";
import { createWriter } from "../../src/protocol/writer.js";

test("a record nested too deeply to serialise fails the write without leaving half a line", async () => {
  const out = new PassThrough();
  const chunks: Buffer[] = [];
  out.on("data", (c: Buffer) => chunks.push(c));
  const writer = createWriter(out);
  let deep: unknown = {};
  for (let i = 0; i < 200_000; i++) deep = [deep];
  await assert.rejects(
    writer.writeRecords("pipelines", [{ uuid: "{1}" }, deep as Record<string, unknown>], 1),
    /A record of stream pipelines from the API is nested too deeply to write as JSON/,
  );
  await writer.flush();
  const lines = Buffer.concat(chunks).toString("utf8").split("\n").filter(Boolean);
  assert.deepEqual(
    lines.map((l) => JSON.parse(l)),
    [{ type: "RECORD", record: { stream: "pipelines", data: { uuid: "{1}" }, emitted_at: 1 } }],
  );
});
