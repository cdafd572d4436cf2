// `npm run bench [-- --repositories N --runs N --latency MS --concurrency N --warm]`: starts the
// simulator with a generated workspace, runs the built CLI as a subprocess reading its stdout
// through a pipe, and prints figures for a full read and an incremental re-sync: records,
// requests made and the minimum possible, wall time, records a second, the connector's own CPU
// time (so that the simulator's share of the two cores does not count), peak RSS of the connector.
// With no arguments it runs the standard scenarios (latency, CPU, memory at two sizes, idle polling).
// The simulator runs in a worker thread (its own core); "warm" scenarios read once first so that
// its lazy data generation is not counted.
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { RemoteSimulator } from "./remote-simulator.js";

interface Scenario {
  name: string;
  repositories: number;
  runs: number;
  latencyMs: number;
  concurrency?: number;
  idlePollHours?: number;
  /** Read once before measuring, so the simulator's lazy generation is not counted. */
  warm?: boolean;
}

interface Figures {
  records: number;
  requests: number;
  seconds: number;
  /** The connector's own CPU time (user + system, all its threads). */
  cpuSeconds: number;
  peakRssMb: number;
  lastStates: string;
  stateBytes: number;
}

const dir = mkdtempSync(join(tmpdir(), "bbp-bench-"));

function arg(name: string): number | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : undefined;
}

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
  const args = ["dist/main.js", "read", "--config", config, "--catalog", catalog];
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
      const hwm = /VmHWM:\s+(\d+)/.exec(readFileSync(`/proc/${child.pid}/status`, "utf8"));
      if (hwm) peakKb = Math.max(peakKb, Number(hwm[1]));
      // utime and stime, the 14th and 15th fields, in clock ticks (100 a second on Linux).
      const stat = readFileSync(`/proc/${child.pid}/stat`, "utf8").split(") ")[1]?.split(" ") ?? [];
      cpuTicks = Math.max(cpuTicks, Number(stat[11]) + Number(stat[12]) || 0);
    } catch {
      /* exited */
    }
  }, 20);
  // Lines are counted on the raw bytes: decoding 200 MB of records here would compete with the
  // connector for the CPU. Only STATE lines are decoded.
  let records = 0;
  let stateBytes = 0;
  let tail: Buffer = Buffer.alloc(0);
  const lastState = new Map<string, string>();
  const RECORD = Buffer.from('{"type":"RECORD"');
  const STATE = Buffer.from('{"type":"STATE"');
  for await (const chunk of child.stdout as AsyncIterable<Buffer>) {
    const bytes = tail.length > 0 ? Buffer.concat([tail, chunk]) : chunk;
    let start = 0;
    for (let end = bytes.indexOf(10, start); end >= 0; start = end + 1, end = bytes.indexOf(10, start)) {
      if (bytes.compare(RECORD, 0, RECORD.length, start, start + RECORD.length) === 0) records++;
      else if (bytes.compare(STATE, 0, STATE.length, start, start + STATE.length) === 0) {
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
    requests: (await sim.requestCount()) - requestsBefore,
    seconds: Number(process.hrtime.bigint() - started) / 1e9,
    cpuSeconds: cpuTicks / 100,
    peakRssMb: peakKb / 1024,
    lastStates: `[${[...lastState.values()].join(",")}]`,
    stateBytes,
  };
}

function line(label: string, f: Figures, minimum: number): string {
  return `  ${label.padEnd(12)} records ${String(f.records).padStart(8)}  requests ${String(f.requests).padStart(6)} (minimum ${minimum})  ${f.seconds.toFixed(2).padStart(6)} s  ${Math.round(
    f.records / f.seconds,
  )
    .toString()
    .padStart(7)} records/s  connector CPU ${f.cpuSeconds.toFixed(1)} s${
    f.records > 0 ? ` (${Math.round(f.records / f.cpuSeconds)} records/CPU-s)` : ""
  }  peak RSS ${f.peakRssMb.toFixed(0)} MB  STATE ${(f.stateBytes / 1024).toFixed(0)} KB`;
}

async function bench(s: Scenario): Promise<void> {
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
    console.log(line("full read", full, listing + s.repositories * Math.max(1, Math.ceil(s.runs / 100))));
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
    console.log(line("incremental", incremental, listing + 1 + polled));
    if (s.idlePollHours) {
      console.log(
        `  (idle polling: ${touched.size} repositories pushed to, ${withUnfinished.size} with unfinished runs, the other ${s.repositories - polled} not asked)`,
      );
    }
  } finally {
    await sim.close();
  }
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
      { name: "cpu", repositories: 100, runs: 1000, latencyMs: 0, warm: true },
      { name: "memory-10k", repositories: 100, runs: 100, latencyMs: 0 },
      { name: "memory-1M", repositories: 1000, runs: 1000, latencyMs: 0 },
      { name: "idle-polling", repositories: 1000, runs: 20, latencyMs: 0, idlePollHours: 24 },
    ];
console.log(
  `machine: ${(await import("node:os")).cpus().length} cores, ${(await import("node:os")).cpus()[0]?.model ?? "?"}, node ${process.version}`,
);
for (const s of scenarios) await bench(s);
