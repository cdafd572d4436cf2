// What a command needs from the outside world; main.ts builds the real ones, tests their own.
import type { MessageWriter } from "../protocol/writer.js";

export interface CommandDeps {
  out: MessageWriter;
  now: () => number;
  sleep: (ms: number, signal?: AbortSignal) => Promise<void>;
  /** Overrides the request timeout (tests). */
  requestTimeoutMs?: number;
}
