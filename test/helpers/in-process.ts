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

/**
 * `clockOffsetMs`: the connector's clock runs this far ahead of real time (e.g. hours later).
 * `nowMs`: the connector's clock starts there and moves only by the waits asked for, so what a
 * read does with its clock (look-back, idle polling) does not depend on the machine's speed.
 */
export async function runInProcess(
  args: string[],
  options: { requestTimeoutMs?: number; clockOffsetMs?: number; nowMs?: number } = {},
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
  const fixed = options.nowMs;
  const real = fixed === undefined ? () => Date.now() + offset : () => fixed;
  let clock = real();
  const code = await runCli(
    args,
    {
      out: createWriter(sink),
      now: () => Math.max(clock, real()),
      sleep: async (ms) => {
        sleptMs += ms;
        clock = Math.max(clock, real()) + ms;
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
