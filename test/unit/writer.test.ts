// The writer keeps stdout one JSON object a line: when a record cannot be serialised, and when
// the consumer keeps the chunks it was given and reads them later.
import assert from "node:assert/strict";
import { PassThrough } from "node:stream";
import { test } from "node:test";
import { setImmediate as tick } from "node:timers/promises";
import { record } from "../../src/protocol/messages.js";
import { createWriter } from "../../src/protocol/writer.js";

test("a record nested too deeply to serialise fails the write without leaving half a line", async () => {
  const out = new PassThrough();
  const chunks: Buffer[] = [];
  out.on("data", (c: Buffer) => chunks.push(c));
  const writer = createWriter(out);
  let deep: unknown = {};
  for (let i = 0; i < 200_000; i++) deep = [deep];
  await writer.write(record("pipelines", { uuid: "{1}" }, 1));
  await assert.rejects(
    writer.write(record("pipelines", deep as Record<string, unknown>, 1)),
    /A record of stream pipelines from the API is nested too deeply to write as JSON/,
  );
  const lines = Buffer.concat(chunks).toString("utf8").split("\n").filter(Boolean);
  assert.deepEqual(
    lines.map((l) => JSON.parse(l)),
    [{ type: "RECORD", record: { stream: "pipelines", data: { uuid: "{1}" }, emitted_at: 1 } }],
  );
});

test("3,000 records written with a pause per page to a stream read later come back whole and distinct", async () => {
  // A PassThrough keeps the chunks it is given until someone reads them: a writer that reused
  // a buffer once write()'s callback fired corrupted them (462 distinct records, 5 broken lines).
  const out = new PassThrough({ highWaterMark: 16 * 1024 });
  const writer = createWriter(out);
  const chunks: Buffer[] = [];
  const writing = (async () => {
    for (let page = 0; page < 30; page++) {
      for (let i = 0; i < 100; i++) {
        const n = page * 100 + i;
        await writer.write(record("pipelines", { uuid: `{${n}}`, build_number: n, pad: "x".repeat(n % 50) }, 1));
      }
      await tick();
    }
    out.end();
  })();
  // Read only after a while, so the stream holds many chunks at once.
  await new Promise((resolve) => setTimeout(resolve, 50));
  for await (const chunk of out) chunks.push(chunk as Buffer);
  await writing;
  const lines = Buffer.concat(chunks).toString("utf8").split("\n").filter(Boolean);
  const records = lines.map((l) => JSON.parse(l).record.data as { uuid: string; build_number: number });
  assert.equal(records.length, 3000);
  assert.equal(new Set(records.map((r) => r.uuid)).size, 3000);
  assert.ok(records.every((r, i) => r.build_number === i && r.uuid === `{${i}}`));
});
