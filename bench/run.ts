// `npm run bench [-- --image]`, or one scenario: `npm run bench -- --repositories N --runs N
// [--latency MS] [--concurrency N] [--idle HOURS] [--warm] [--image]`.
// Starts the simulator with a generated workspace, runs the built CLI as a subprocess reading its
// stdout through a pipe, and prints for a full read and an incremental re-sync: records, requests
// made and the minimum possible, wall time, pipelines records per second of the connector's own
// CPU time (user + system, so that the simulator's share of the cores does not count), the
// connector's peak RSS and the bytes of STATE. The standard scenarios end with PASS or FAIL
// against each performance target.
// The connector is started as `node dist/main.js`; with --image, with the V8 flags the
// Dockerfile's ENTRYPOINT gives it. The simulator runs in a worker thread of this process (its
// memory and CPU are not the connector's); "warm" scenarios read once first so that its lazy
// data generation does not slow the measured read.
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { cpus, tmpdir } from "node:os";
import { join } from "node:path";
import { RemoteSimulator } from "./remote-simulator.js";

interface Scenario {
  name: string;
  repositories: number;
  runs: number;
  latencyMs: number;
  concurrency?: number;
  idlePollHours?: number;
  warm?: boolean;
}

interface Figures {
  records: number;
  pipelinesRecords: number;
  requests: number;
  seconds: number;
  /** The connector's own CPU time (user + system, all its threads). */
  cpuSeconds: number;
  peakRssMb: number;
  lastStates: string;
  stateBytes: number;
}

interface Result {
  scenario: Scenario;
  full: Figures;
  fullMinimum: number;
  incremental: Figures;
  incrementalExpected: number;
}

const dir = mkdtempSync(join(tmpdir(), "bbp-bench-"));

function arg(name: string): number | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : undefined;
}

/** The node options between `node` and the script in the Dockerfile's ENTRYPOINT. */
function imageNodeFlags(): string[] {
  const entrypoint = /^ENTRYPOINT (\[.*\])$/m.exec(readFileSync("Dockerfile", "utf8"))?.[1];
  if (!entrypoint) throw new Error("no ENTRYPOINT [...] in the Dockerfile");
  const argv = JSON.parse(entrypoint) as string[];
  return argv.slice(
    1,
    argv.findIndex((a) => a.endsWith("main.js")),
  );
}

const nodeFlags = process.argv.includes("--image") ? imageNodeFlags() : [];

async function runConnector(sim: RemoteSimulator, scenario: Scenario, state?: string): Promise<Figures> {
  const config = join(dir, "config.json");
  writeFileSync(
    config,
    JSON.stringify({
      workspace: sim.workspace,
      credentials: { auth_type: "bearer", token: "sim-token" },
      api_url: sim.url,
      concurrency: scenario.concurrency ?? 4,
      idle_repository_poll_hours: scenario.idlePollHours ?? 0,
    }),
  );
  const catalog = join(dir, "catalog.json");
  // The targets are about runs: repositories and pipelines (steps cost one request per run).
  const sample = JSON.parse(readFileSync("catalog.sample.json", "utf8")) as { streams: { stream: { name: string } }[] };
  sample.streams = sample.streams.filter((s) => s.stream.name === "repositories" || s.stream.name === "pipelines");
  writeFileSync(catalog, JSON.stringify(sample));
  const args = [...nodeFlags, "dist/main.js", "read", "--config", config, "--catalog", catalog];
  if (state) {
    writeFileSync(join(dir, "state.json"), state);
    args.push("--state", join(dir, "state.json"));
  }
  const requestsBefore = await sim.requestCount();
  const started = process.hrtime.bigint();
  const child = spawn(process.execPath, args, { stdio: ["ignore", "pipe", "inherit"] });
  let peakKb = 0;
  let cpuTicks = 0;
  const sampler = setInterval(() => {
    try {
      // VmHWM is the kernel's own high-water mark of RSS: sampling it misses no peak.
      const hwm = /VmHWM:\s+(\d+)/.exec(readFileSync(`/proc/${child.pid}/status`, "utf8"));
      if (hwm) peakKb = Math.max(peakKb, Number(hwm[1]));
      // utime and stime, the 14th and 15th fields, in clock ticks (100 a second on Linux).
      const stat = readFileSync(`/proc/${child.pid}/stat`, "utf8").split(") ")[1]?.split(" ") ?? [];
      cpuTicks = Math.max(cpuTicks, Number(stat[11]) + Number(stat[12]) || 0);
    } catch {
      /* exited */
    }
  }, 20);
  // Lines are classified on the raw bytes: decoding hundreds of MB of records here would compete
  // with the connector for the CPU. Only STATE lines are decoded.
  let records = 0;
  let pipelinesRecords = 0;
  let stateBytes = 0;
  let tail: Buffer = Buffer.alloc(0);
  const lastState = new Map<string, string>();
  const RECORD = Buffer.from('{"type":"RECORD"');
  const PIPELINES = Buffer.from('{"type":"RECORD","record":{"stream":"pipelines"');
  const STATE = Buffer.from('{"type":"STATE"');
  const startsWith = (bytes: Buffer, start: number, prefix: Buffer): boolean =>
    bytes.compare(prefix, 0, prefix.length, start, start + prefix.length) === 0;
  for await (const chunk of child.stdout as AsyncIterable<Buffer>) {
    const bytes = tail.length > 0 ? Buffer.concat([tail, chunk]) : chunk;
    let start = 0;
    for (let end = bytes.indexOf(10, start); end >= 0; start = end + 1, end = bytes.indexOf(10, start)) {
      if (startsWith(bytes, start, RECORD)) {
        records++;
        if (startsWith(bytes, start, PIPELINES)) pipelinesRecords++;
      } else if (startsWith(bytes, start, STATE)) {
        stateBytes += end - start + 1;
        const state = JSON.parse(bytes.toString("utf8", start, end)).state;
        lastState.set(state.stream.stream_descriptor.name, JSON.stringify(state));
      }
    }
    tail = bytes.subarray(start);
  }
  const code = await new Promise<number | null>((resolve) => child.on("close", resolve));
  clearInterval(sampler);
  if (code !== 0) throw new Error(`connector exited ${code}`);
  return {
    records,
    pipelinesRecords,
    requests: (await sim.requestCount()) - requestsBefore,
    seconds: Number(process.hrtime.bigint() - started) / 1e9,
    cpuSeconds: cpuTicks / 100,
    peakRssMb: peakKb / 1024,
    lastStates: `[${[...lastState.values()].join(",")}]`,
    stateBytes,
  };
}

const perCpuSecond = (f: Figures): number => Math.round(f.pipelinesRecords / f.cpuSeconds);

function line(label: string, f: Figures, minimum: number): string {
  // A rate of the few records of a re-sync would measure start-up, not the read.
  const rate = label === "full read" ? `  ${String(perCpuSecond(f)).padStart(6)} pipelines records/CPU-s` : "";
  return `  ${label.padEnd(12)} records ${String(f.records).padStart(8)}  requests ${String(f.requests).padStart(6)} (minimum ${minimum})  ${f.seconds.toFixed(1).padStart(6)} s  connector CPU ${f.cpuSeconds.toFixed(1).padStart(5)} s${rate}  peak RSS ${f.peakRssMb.toFixed(0)} MB  STATE ${(f.stateBytes / 1024).toFixed(0)} KB`;
}

async function bench(s: Scenario): Promise<Result> {
  const sim = await RemoteSimulator.start({
    repositories: s.repositories,
    runsPerRepository: s.runs,
    latencyMs: s.latencyMs,
    seed: 5,
  });
  try {
    const listing = Math.ceil(s.repositories / 100);
    console.log(
      `${s.name}: ${s.repositories} repositories x ${s.runs} runs, ${s.latencyMs} ms latency, concurrency ${s.concurrency ?? 4}${s.idlePollHours ? `, idle_repository_poll_hours ${s.idlePollHours}` : ""}`,
    );
    if (s.warm) await runConnector(sim, s);
    const full = await runConnector(sim, s);
    const fullMinimum = listing + s.repositories * Math.max(1, Math.ceil(s.runs / 100));
    console.log(line("full read", full, fullMinimum));
    // Repositories with unfinished runs are asked at every sync, idle or not.
    type PipelinesState = {
      stream: {
        stream_descriptor: { name: string };
        stream_state: { repositories: Record<string, { runs?: Record<string, { seen: string }> }> };
      };
    };
    const pipelinesState = (JSON.parse(full.lastStates) as PipelinesState[]).find(
      (st) => st.stream.stream_descriptor.name === "pipelines",
    );
    const withUnfinished = new Set(
      Object.entries(pipelinesState?.stream.stream_state.repositories ?? {})
        .filter(([, e]) => Object.values(e.runs ?? {}).some((w) => !w.seen.startsWith("COMPLETED")))
        .map(([uuid]) => uuid),
    );
    await sim.advance(3_600_000);
    const active = s.idlePollHours ? Math.ceil(s.repositories * 0.05) : 0;
    const repos = await sim.repositories();
    const touched = new Set<string>();
    for (let i = 0; i < active; i++) {
      const repo = repos[(i * 20) % repos.length]!;
      touched.add(repo.uuid);
      await sim.push(repo.slug);
    }
    const incremental = await runConnector(sim, s, full.lastStates);
    const polled = s.idlePollHours ? new Set([...touched, ...withUnfinished]).size : s.repositories;
    // The repositories listing for the scope, one for the repositories stream's own BBQL query,
    // and one page per polled repository (unfinished runs are usually on that page).
    const incrementalExpected = listing + 1 + polled;
    console.log(line("incremental", incremental, incrementalExpected));
    if (s.idlePollHours) {
      console.log(
        `  (idle polling: ${touched.size} repositories pushed to, ${withUnfinished.size} with unfinished runs, the other ${s.repositories - polled} not asked)`,
      );
    }
    return { scenario: s, full, fullMinimum, incremental, incrementalExpected };
  } finally {
    await sim.close();
  }
}

/** PASS or FAIL against each target of the README's Performance section. */
function verdicts(results: Map<string, Result>): void {
  const r = (name: string): Result => results.get(name)!;
  const peak = (x: Result): number => Math.max(x.full.peakRssMb, x.incremental.peakRssMb);
  const rate = perCpuSecond(r("100k").full);
  const peak100k = peak(r("100k"));
  const peak1M = peak(r("1M"));
  const targets: [string, boolean, string][] = [
    [">= 5,000 pipelines records per CPU-second (100k full read)", rate >= 5000, `${rate}`],
    [
      "full reads make the minimum number of requests",
      [...results.values()].every((x) => x.full.requests === x.fullMinimum),
      [...results.values()].map((x) => `${x.full.requests}/${x.fullMinimum}`).join(", "),
    ],
    [
      "re-syncs make the expected requests (idle polling included)",
      [...results.values()].every((x) => x.incremental.requests <= x.incrementalExpected),
      [...results.values()].map((x) => `${x.incremental.requests}/${x.incrementalExpected}`).join(", "),
    ],
    [
      "peak RSS at 1M runs within 15 MB of the peak at 100k",
      peak1M - peak100k <= 15,
      `${peak1M.toFixed(0)} - ${peak100k.toFixed(0)} = ${(peak1M - peak100k).toFixed(0)} MB`,
    ],
    ["peak RSS at 1M runs under 200 MB", peak1M < 200, `${peak1M.toFixed(0)} MB`],
  ];
  console.log(`targets (connector started as: node ${[...nodeFlags, "dist/main.js"].join(" ")}):`);
  for (const [target, pass, figure] of targets) console.log(`  ${pass ? "PASS" : "FAIL"}  ${target}: ${figure}`);
}

const custom = arg("repositories");
const scenarios: Scenario[] = custom
  ? [
      {
        name: "custom",
        repositories: custom,
        runs: arg("runs") ?? 100,
        latencyMs: arg("latency") ?? 0,
        concurrency: arg("concurrency") ?? 4,
        idlePollHours: arg("idle") ?? 0,
        warm: process.argv.includes("--warm"),
      },
    ]
  : [
      { name: "latency", repositories: 1000, runs: 100, latencyMs: 50, concurrency: 16, warm: true },
      { name: "100k", repositories: 100, runs: 1000, latencyMs: 0, warm: true },
      // Not warmed: that would double the longest scenario. The connector waits for the
      // simulator's generation, which costs it wall time but not CPU time.
      { name: "1M", repositories: 1000, runs: 1000, latencyMs: 0 },
      { name: "idle-polling", repositories: 1000, runs: 20, latencyMs: 0, idlePollHours: 24 },
    ];
console.log(`machine: ${cpus().length} cores, ${cpus()[0]?.model ?? "?"}, node ${process.version}`);
const results = new Map<string, Result>();
for (const s of scenarios) results.set(s.name, await bench(s));
if (!custom) verdicts(results);
