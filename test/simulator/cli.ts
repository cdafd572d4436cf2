// Runs the simulator until killed:
//   node --import tsx test/simulator/cli.ts [--port 8765] [--repositories N] [--runs N] [--seed S] [--latency MS] [--workspace W]
// Prints one line to stderr: "bitbucket simulator api_url=http://127.0.0.1:PORT/2.0 workspace=W ...".

import { DEFAULT_CREDENTIALS, startSimulator } from "./index.js";

const USAGE = "usage: cli.ts [--port 8765] [--repositories N] [--runs N] [--seed S] [--latency MS] [--workspace W]";

function parseArgs(argv: string[]): Map<string, string> {
  const out = new Map<string, string>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] ?? "";
    if (arg === "--help" || arg === "-h") {
      process.stderr.write(`${USAGE}\n`);
      process.exit(0);
    }
    const m = /^--([a-z-]+)(?:=(.*))?$/.exec(arg);
    if (!m || m[1] === undefined) throw new Error(`unexpected argument '${arg}'\n${USAGE}`);
    const value = m[2] ?? argv[++i];
    if (value === undefined) throw new Error(`--${m[1]} needs a value\n${USAGE}`);
    out.set(m[1], value);
  }
  return out;
}

function intOption(args: Map<string, string>, name: string, fallback: number): number {
  const raw = args.get(name);
  if (raw === undefined) return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0) throw new Error(`--${name} must be a non-negative integer, got '${raw}'`);
  return n;
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  for (const key of args.keys()) {
    if (!["port", "repositories", "runs", "seed", "latency", "workspace"].includes(key))
      throw new Error(`unknown option --${key}\n${USAGE}`);
  }
  const sim = await startSimulator({
    port: intOption(args, "port", 8765),
    repositories: intOption(args, "repositories", 3),
    runsPerRepository: intOption(args, "runs", 25),
    seed: intOption(args, "seed", 1),
    latencyMs: intOption(args, "latency", 0),
    workspace: args.get("workspace") ?? "acme",
  });
  const basic = DEFAULT_CREDENTIALS.find((c) => c.kind === "basic");
  const bearer = DEFAULT_CREDENTIALS.find((c) => c.kind === "bearer");
  process.stderr.write(
    `bitbucket simulator api_url=${sim.url} workspace=${sim.workspace}` +
      (bearer?.kind === "bearer" ? ` bearer_token=${bearer.token}` : "") +
      (basic?.kind === "basic" ? ` basic=${basic.email}:${basic.apiToken}` : "") +
      "\n",
  );
  const stop = (): void => {
    void sim.close().then(() => process.exit(0));
  };
  process.on("SIGINT", stop);
  process.on("SIGTERM", stop);
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(2);
});
