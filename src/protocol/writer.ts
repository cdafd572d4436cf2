// The only code that touches stdout: one JSON object per line. Lines are batched into chunks of
// about 64 KB (one write call each instead of one per record); anything but a RECORD, and any
// line left waiting for 100 ms, flushes the batch. When the consumer is slow, write() waits for
// 'drain', so the sync pauses instead of filling memory. A consumer that goes away (EPIPE) ends
// the output quietly; the caller gets OutputClosedError and stops reading.
import { setMaxListeners } from "node:events";
import type { Writable } from "node:stream";
import { type AirbyteMessage, JsonText } from "./messages.js";

export interface MessageWriter {
  write(message: AirbyteMessage): Promise<void>;
  /** Writes out what is batched, waiting for the consumer if it is slow. */
  flush(): Promise<void>;
  readonly closed: boolean;
  /** Aborted when the consumer goes away, so waits and requests stop too. */
  readonly closedSignal: AbortSignal;
}

export class OutputClosedError extends Error {
  constructor() {
    super("the consumer of stdout went away");
  }
}

const BATCH_BYTES = 64 * 1024;
const BATCH_MAX_AGE_MS = 100;

export function createWriter(out: Writable, redact: (text: string) => string = (t) => t): MessageWriter {
  let closed = false;
  let batch = "";
  let timer: NodeJS.Timeout | undefined;
  const consumerGone = new AbortController();
  // Every request and wait in flight listens to it (up to 16 repositories at once): not a leak.
  setMaxListeners(256, consumerGone.signal);
  out.on("error", () => {
    closed = true;
    consumerGone.abort(new OutputClosedError());
  });

  async function flush(): Promise<void> {
    if (timer) clearTimeout(timer);
    timer = undefined;
    if (closed) throw new OutputClosedError();
    if (batch === "") return;
    const text = redact(batch);
    batch = "";
    if (!out.write(text)) {
      await drainOrClose(out);
      if (closed || out.destroyed) {
        closed = true;
        consumerGone.abort(new OutputClosedError());
        throw new OutputClosedError();
      }
    }
  }

  return {
    get closed() {
      return closed;
    },
    closedSignal: consumerGone.signal,
    flush,
    async write(message) {
      if (closed) throw new OutputClosedError();
      batch += serialise(message) + "\n";
      if (message.type !== "RECORD" || batch.length >= BATCH_BYTES) return flush();
      timer ??= setTimeout(() => void flush().catch(() => undefined), BATCH_MAX_AGE_MS).unref();
    },
  };
}

function serialise(message: AirbyteMessage): string {
  if (message.type === "RECORD" && message.record.data instanceof JsonText) {
    const { stream, data, emitted_at } = message.record;
    return `{"type":"RECORD","record":{"stream":${JSON.stringify(stream)},"data":${data.text},"emitted_at":${emitted_at}}}`;
  }
  if (message.type === "STATE" && message.state.stream.stream_state instanceof JsonText) {
    const { stream, sourceStats } = message.state;
    return `{"type":"STATE","state":{"type":"STREAM","stream":{"stream_descriptor":${JSON.stringify(stream.stream_descriptor)},"stream_state":${stream.stream_state.text}},"sourceStats":${JSON.stringify(sourceStats)}}}`;
  }
  return JSON.stringify(message);
}

function drainOrClose(out: Writable): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      out.off("drain", done);
      out.off("close", done);
      out.off("error", done);
      resolve();
    };
    out.on("drain", done);
    out.on("close", done);
    out.on("error", done);
  });
}
