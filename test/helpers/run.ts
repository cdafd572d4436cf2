// Runs the built CLI (dist/main.js) as users do, and parses what it prints.
import { spawn } from "node:child_process";

export interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
  messages: Array<Record<string, any>>;
}

export function runConnector(args: string[], options: { cwd?: string; timeoutMs?: number } = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["dist/main.js", ...args], { cwd: options.cwd, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (d: string) => (stdout += d));
    child.stderr.setEncoding("utf8").on("data", (d: string) => (stderr += d));
    const timer = setTimeout(() => child.kill("SIGKILL"), options.timeoutMs ?? 60_000);
    child.on("error", reject);
    child.on("close", (code) => {
      clearTimeout(timer);
      const messages = stdout
        .split("\n")
        .filter((line) => line !== "")
        .map((line) => parseLine(line));
      resolve({ code, stdout, stderr, messages });
    });
  });
}

/** A stdout line that is not JSON becomes a NOT_JSON message, which the protocol check rejects. */
function parseLine(line: string): Record<string, any> {
  try {
    return JSON.parse(line) as Record<string, any>;
  } catch {
    return { type: "NOT_JSON", line };
  }
}
