// Runs the CLI in-process on a virtual clock where waits overlap as they do in real time: a sleep
// moves the clock to its deadline unless the clock is already past it. So with several requests in
// flight, `elapsedMs` is the time the read would really have taken waiting, while `sleptMs` adds
// every wait up (as test/helpers/in-process.ts does).

import { Writable } from "node:stream";
import { setImmediate as tick } from "node:timers/promises";
import { runCli } from "../../src/cli.js";
import { createWriter } from "../../src/protocol/writer.js";
import type { Message } from "./protocol.js";

export class VirtualClock {
  /** How far the clock has jumped ahead of real time: the time spent waiting, overlaps counted once. */
  offset = 0;
  sleptMs = 0;
  now = (): number => Date.now() + this.offset;
  sleep = async (ms: number): Promise<void> => {
    this.sleptMs += ms;
    const deadline = this.now() + ms;
    await tick();
    const now = this.now();
    if (deadline > now) this.offset += deadline - now;
  };
}

export interface VirtualResult {
  code: number;
  messages: Message[];
  stdout: string;
  stderr: string;
  /** Virtual time from start to end, real time included. */
  elapsedMs: number;
  /** Virtual time spent waiting (elapsedMs without the real time). */
  waitedMs: number;
  /** Sum of every wait asked for. */
  sleptMs: number;
}

export async function runVirtual(args: string[], clock = new VirtualClock(), requestTimeoutMs?: number): Promise<VirtualResult> {
  let stdout = "";
  let stderr = "";
  const sink = new Writable({
    write(chunk, _encoding, done) {
      stdout += String(chunk);
      done();
    },
  });
  const start = clock.now();
  const offset = clock.offset;
  const code = await runCli(
    args,
    { out: createWriter(sink), now: clock.now, sleep: clock.sleep, ...(requestTimeoutMs ? { requestTimeoutMs } : {}) },
    (text) => (stderr += text),
  );
  const messages = stdout
    .split("\n")
    .filter((l) => l)
    .map((l) => JSON.parse(l) as Message);
  return {
    code,
    messages,
    stdout,
    stderr,
    elapsedMs: clock.now() - start,
    waitedMs: clock.offset - offset,
    sleptMs: clock.sleptMs,
  };
}
