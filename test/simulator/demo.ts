// `npm run demo`: a real sync against the bundled simulator, no account needed. Starts the
// simulator, runs check, discover and a full read with the built CLI, then lets time pass (new
// runs, runs finishing) and runs an incremental read from the first read's state. Records of both
// reads go to demo-output/<stream>.jsonl, appended as a destination in append mode keeps them,
// and to demo-output/bitbucket.duckdb, one table per stream deduplicated by primary key; a
// short summary, with the four DORA keys, goes to stderr.
import { execFile } from "node:child_process";
import { appendFileSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import { DuckDBInstance } from "@duckdb/node-api";
import { describeKeys, doraKeys } from "./dora.js";
import { startSimulator } from "./index.js";
import { latestRecords, loadStreams } from "./load-duckdb.js";

const outDir = resolve(process.argv[2] ?? "demo-output");
mkdirSync(outDir, { recursive: true });
const sim = await startSimulator({ repositories: 6, runsPerRepository: (i) => 20 + i * 15, seed: 42 });

const configPath = join(outDir, "config.json");
const config = {
  workspace: sim.workspace,
  credentials: { auth_type: "bearer", token: "sim-token" },
  api_url: sim.url,
  // For repositories without Bitbucket deployment environments: their custom "deploy-prod"
  // pipeline deploys to production.
  deployment_rules: [
    { name: "deploy-prod-pipeline", environment: "production", environment_type: "production", pipeline_pattern: "deploy-prod" },
  ],
};
writeFileSync(configPath, JSON.stringify(config, null, 2));

type Message = Record<string, any>;
// Asynchronous on purpose: the simulator runs in this process and must keep answering.
async function connector(args: string[]): Promise<Message[]> {
  const { stdout } = await promisify(execFile)(process.execPath, [resolve("dist/main.js"), ...args], { maxBuffer: 1 << 30 });
  return stdout
    .split("\n")
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Message);
}

try {
  const say = (text: string) => process.stderr.write(text + "\n");
  const check = (await connector(["check", "--config", configPath]))[0]!;
  say(`check:    ${check.connectionStatus.status} ${check.connectionStatus.message ?? ""}`);
  const catalog = (await connector(["discover", "--config", configPath]))[0]!.catalog;
  say(`discover: ${catalog.streams.map((s: Message) => s.name).join(", ")}`);
  const configured = {
    streams: catalog.streams.map((s: Message) => ({
      stream: s,
      sync_mode: s.supported_sync_modes.at(-1),
      destination_sync_mode: "append_dedup",
    })),
  };
  const catalogPath = join(outDir, "catalog.json");
  writeFileSync(catalogPath, JSON.stringify(configured));

  const first = await connector(["read", "--config", configPath, "--catalog", catalogPath]);
  const perStream = new Map<string, string[]>();
  for (const m of first.filter((m) => m.type === "RECORD")) {
    perStream.set(m.record.stream, [...(perStream.get(m.record.stream) ?? []), JSON.stringify(m.record.data)]);
  }
  for (const [stream, lines] of perStream) writeFileSync(join(outDir, `${stream}.jsonl`), lines.join("\n") + "\n");
  const runs = first.filter((m) => m.type === "RECORD" && m.record.stream === "pipelines").map((m) => m.record.data);
  const byResult = new Map<string, number>();
  for (const r of runs) {
    const key = r.result ?? r.status ?? "UNKNOWN";
    byResult.set(key, (byResult.get(key) ?? 0) + 1);
  }
  say(`read:     ${[...perStream].map(([s, l]) => `${l.length} ${s}`).join(", ")}`);
  say(`runs by result: ${[...byResult].map(([k, n]) => `${k} ${n}`).join(", ")}`);
  const byEnvironment = new Map<string, number>();
  for (const m of first.filter((m) => m.type === "RECORD" && m.record.stream === "deployments")) {
    const key = `${m.record.data.environment} (${m.record.data.source === "rule" ? `rule ${m.record.data.rule}` : "Bitbucket"})`;
    byEnvironment.set(key, (byEnvironment.get(key) ?? 0) + 1);
  }
  say(`deployments per environment: ${[...byEnvironment].map(([k, n]) => `${k} ${n}`).join(", ")}`);

  // An hour passes: new runs, and the unfinished ones finish. The third repository has no
  // environments, so the rule makes its successful deploy-prod run a production deployment: it
  // restores that repository's last failed one, which the incremental read emits again.
  sim.clock.advance(3_600_000);
  const repos = sim.repositories();
  sim.addRun(repos[0]!.slug as string, { state: "COMPLETED", result: "SUCCESSFUL" });
  sim.addRun(repos[1]!.slug as string);
  sim.addRun(repos[0]!.slug as string, { deploy: "production" });
  sim.addRun(repos[2]!.slug as string, {
    deploy: "production",
    pattern: "deploy-prod",
    state: "COMPLETED",
    result: "SUCCESSFUL",
  });
  for (const r of runs.filter((r) => r.status !== "COMPLETED")) sim.finishRun(r.repository_full_name.split("/")[1], r.uuid);
  const lastStates = new Map<string, Message>();
  for (const m of first.filter((m) => m.type === "STATE")) lastStates.set(m.state.stream.stream_descriptor.name, m.state);
  const statePath = join(outDir, "state.json");
  writeFileSync(statePath, JSON.stringify([...lastStates.values()]));
  const second = await connector(["read", "--config", configPath, "--catalog", catalogPath, "--state", statePath]);
  const again = (stream: string) => second.filter((m) => m.type === "RECORD" && m.record.stream === stream).length;
  say(
    `incremental read an hour later: ${again("pipelines")} runs (new, or finished since), ${again("pipeline_steps")} steps, ${again("deployments")} deployments, ${again("deployment_commits")} deployment commits`,
  );
  for (const m of second.filter((m) => m.type === "RECORD"))
    appendFileSync(join(outDir, `${m.record.stream}.jsonl`), JSON.stringify(m.record.data) + "\n");

  // What a destination in append_dedup mode holds: one row per primary key, the latest.
  const dbPath = join(outDir, "bitbucket.duckdb");
  rmSync(dbPath, { force: true });
  rmSync(`${dbPath}.wal`, { force: true });
  const db = await DuckDBInstance.create(dbPath);
  const connection = await db.connect();
  const tables = await loadStreams(connection, outDir, configured);
  connection.closeSync();
  db.closeSync();
  say(`duckdb:   ${dbPath}: ${[...tables].map(([t, n]) => `${n} ${t}`).join(", ")} (one row per primary key)`);

  const latest = (stream: string) => {
    const pk = configured.streams.find((s: Message) => s.stream.name === stream)!.stream.source_defined_primary_key;
    return latestRecords(outDir, stream, pk).map((l) => JSON.parse(l) as Message);
  };
  say(`DORA keys (production): ${describeKeys(doraKeys(latest("deployments"), latest("deployment_commits")))}`);
  say(`files:    ${outDir}/{${[...tables.keys()].join(",")}}.jsonl, bitbucket.duckdb, config.json, catalog.json, state.json`);
} finally {
  await sim.close();
}
