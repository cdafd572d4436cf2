// The one loop from streams' outputs to protocol messages: STARTED, RUNNING at the first output,
// records, a STATE (with the count of records it covers) after each checkpoint, COMPLETE. A
// group of streams read in one pass shares the loop; each stream keeps its own counts.
import { estimate, record, streamState, streamStatus } from "../protocol/messages.js";
import type { MessageWriter } from "../protocol/writer.js";
import type { StreamOutput } from "../streams/stream.js";

export type TaggedOutput = StreamOutput & { stream: string };

export async function writeStreams(
  out: MessageWriter,
  names: string[],
  outputs: AsyncIterable<TaggedOutput>,
  now: () => number,
): Promise<void> {
  const streams = new Map(names.map((name) => [name, { running: false, recordsSinceState: 0, lastState: "" }]));
  for (const name of names) await out.write(streamStatus(name, "STARTED", now()));
  for await (const output of outputs) {
    const s = streams.get(output.stream)!;
    if (!s.running) {
      s.running = true;
      await out.write(streamStatus(output.stream, "RUNNING", now()));
    }
    if ("records" in output) {
      const emittedAt = now();
      for (const data of output.records) await out.write(record(output.stream, data, emittedAt));
      s.recordsSinceState += output.records.length;
    } else if ("estimate" in output) {
      await out.write(estimate(output.stream, output.estimate, now()));
    } else {
      const text = JSON.stringify(output.checkpoint);
      if (text === s.lastState && s.recordsSinceState === 0) continue;
      await out.write(streamState(output.stream, output.checkpoint, s.recordsSinceState));
      s.lastState = text;
      s.recordsSinceState = 0;
    }
  }
  for (const [name, s] of streams) {
    if (!s.running) await out.write(streamStatus(name, "RUNNING", now()));
    await out.write(streamStatus(name, "COMPLETE", now()));
  }
}
