// The only code that touches stdout: one JSON object per line, waiting for 'drain' so a slow
// consumer pauses the sync instead of filling memory. A consumer that goes away (EPIPE) ends
// the output quietly; the caller sees `closed` and stops reading.
import { once } from "node:events";
import type { Writable } from "node:stream";
import type { AirbyteMessage } from "./messages.js";

export interface MessageWriter {
  write(message: AirbyteMessage): Promise<void>;
  readonly closed: boolean;
}

export class OutputClosedError extends Error {
  constructor() {
    super("the consumer of stdout went away");
  }
}

export function createWriter(out: Writable, redact: (text: string) => string = (t) => t): MessageWriter {
  let closed = false;
  out.on("error", () => {
    closed = true;
  });
  return {
    get closed() {
      return closed;
    },
    async write(message) {
      if (closed) throw new OutputClosedError();
      const line = redact(JSON.stringify(message)) + "\n";
      if (!out.write(line)) {
        await Promise.race([once(out, "drain"), once(out, "close")]).catch(() => undefined);
        if (closed || out.destroyed) {
          closed = true;
          throw new OutputClosedError();
        }
      }
    },
  };
}
