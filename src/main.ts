#!/usr/bin/env node
// Entry point: builds the real parts (stdout writer with secret redaction, clock), runs the CLI
// and sets the exit code. Never process.exit(): pending stdout writes would be lost.
import { setTimeout as sleep } from "node:timers/promises";
import { runCli } from "./cli.js";
import { createWriter } from "./protocol/writer.js";
import { secretsRedactor } from "./redact.js";

const argv = process.argv.slice(2);
const redact = secretsRedactor(argv);
const out = createWriter(process.stdout, redact);
const stderr = (text: string): void => {
  process.stderr.write(redact(text));
};

process.exitCode = await runCli(
  argv,
  { out, now: Date.now, sleep: (ms, signal) => sleep(ms, undefined, signal ? { signal } : undefined) },
  stderr,
);
