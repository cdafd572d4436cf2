// The one loop from a stream's output to protocol messages: stream statuses, records, and a
// STATE (with the count of records it covers) after each checkpoint.
import { estimate, record, streamState, streamStatus, type JsonObject } from "../protocol/messages.js";
import type { MessageWriter } from "../protocol/writer.js";
import type { ReadContext } from "../streams/stream.js";
import type { ConfiguredStream } from "./catalog.js";

export async function readStream(
  out: MessageWriter,
  { stream, mode }: ConfiguredStream,
  input: JsonObject | undefined,
  ctx: ReadContext,
): Promise<void> {
  await out.write(streamStatus(stream.name, "STARTED", ctx.now()));
  let running = false;
  let recordsSinceState = 0;
  let lastState: string | undefined;
  for await (const output of stream.read(ctx, mode, input)) {
    if (!running) {
      running = true;
      await out.write(streamStatus(stream.name, "RUNNING", ctx.now()));
    }
    if ("estimate" in output) {
      await out.write(estimate(stream.name, output.estimate, ctx.now()));
      continue;
    }
    if ("record" in output) {
      await out.write(record(stream.name, output.record, ctx.now()));
      recordsSinceState++;
      continue;
    }
    const text = JSON.stringify(output.checkpoint);
    if (text === lastState && recordsSinceState === 0) continue;
    await out.write(streamState(stream.name, output.checkpoint, recordsSinceState));
    lastState = text;
    recordsSinceState = 0;
  }
  if (!running) await out.write(streamStatus(stream.name, "RUNNING", ctx.now()));
  await out.write(streamStatus(stream.name, "COMPLETE", ctx.now()));
}
