// Runs the CLI inside the test process with an injected clock, so retries and backoffs cost no
// real time. Output is captured line by line, as from a pipe.
import { Writable } from "node:stream";
import { runCli } from "../../src/cli.js";
import { createWriter } from "../../src/protocol/writer.js";
import type { Message } from "./protocol.js";

export interface InProcessResult {
  code: number;
  messages: Message[];
  stdout: string;
  stderr: string;
  /** Sum of the waits the connector asked for. */
  sleptMs: number;
}

/** `clockOffsetMs`: the connector's clock runs this far ahead of real time (e.g. hours later). */
export async function runInProcess(
  args: string[],
  options: { requestTimeoutMs?: number; clockOffsetMs?: number } = {},
): Promise<InProcessResult> {
  let stdout = "";
  let stderr = "";
  let sleptMs = 0;
  const sink = new Writable({
    write(chunk, _encoding, done) {
      stdout += String(chunk);
      done();
    },
  });
  const offset = options.clockOffsetMs ?? 0;
  let clock = Date.now() + offset;
  const code = await runCli(
    args,
    {
      out: createWriter(sink),
      now: () => Math.max(clock, Date.now() + offset),
      sleep: async (ms) => {
        sleptMs += ms;
        clock = Math.max(clock, Date.now() + offset) + ms;
      },
      ...(options.requestTimeoutMs ? { requestTimeoutMs: options.requestTimeoutMs } : {}),
    },
    (text) => (stderr += text),
  );
  const messages = stdout
    .split("\n")
    .filter((l) => l)
    .map((l) => JSON.parse(l) as Message);
  return { code, messages, stdout, stderr, sleptMs };
}
