// The only code that touches stdout: one JSON object per line. When the consumer is slow, a
// write waits for 'drain', so the sync pauses instead of filling memory. A consumer that goes
// away (EPIPE) ends the output quietly; the caller gets OutputClosedError and stops reading.
import { setMaxListeners } from "node:events";
import type { Writable } from "node:stream";
import { ConnectorError } from "../errors.js";
import type { AirbyteMessage } from "./messages.js";

export interface MessageWriter {
  write(message: AirbyteMessage): Promise<void>;
  readonly closed: boolean;
  /** Aborted when the consumer goes away, so waits and requests stop too. */
  readonly closedSignal: AbortSignal;
}

export class OutputClosedError extends Error {
  constructor() {
    super("the consumer of stdout went away");
  }
}

/** `redact` masks secrets in each line (redact.ts). */
export function createWriter(out: Writable, redact: (line: string) => string = (line) => line): MessageWriter {
  let closed = false;
  const consumerGone = new AbortController();
  // Every request and wait in flight listens to it (up to 16 repositories at once): not a leak.
  setMaxListeners(256, consumerGone.signal);
  const close = (): OutputClosedError => {
    closed = true;
    consumerGone.abort(new OutputClosedError());
    return new OutputClosedError();
  };
  out.on("error", close);

  return {
    get closed() {
      return closed;
    },
    closedSignal: consumerGone.signal,
    async write(message) {
      if (closed) throw new OutputClosedError();
      // Serialised whole before writing: a message that cannot be must not leave half a line.
      const line = `${serialise(message)}\n`;
      if (!out.write(redact(line))) {
        await drainOrClose(out);
        if (closed || out.destroyed) throw close();
      }
    },
  };
}

function serialise(message: AirbyteMessage): string {
  try {
    return JSON.stringify(message);
  } catch (error) {
    if (!(error instanceof RangeError) || message.type !== "RECORD") throw error;
    throw new ConnectorError(
      `A record of stream ${message.record.stream} from the API is nested too deeply to write as JSON; the stream stops before it.`,
      "bad_response",
    );
  }
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
