// Shared by make.ts (which writes the golden files once) and test/golden-states.test.ts (which
// replays them): the simulator a scenario describes, the changes made to it, and one sync read
// in-process on a fixed clock, reduced to what must not change: its requests and its records.
import { writeJson } from "../helpers/files.js";
import { type InProcessResult, runInProcess } from "../helpers/in-process.js";
import { type Message, records } from "../helpers/protocol.js";
import type { AddRunOptions, RequestLogEntry, Simulator } from "../simulator/index.js";
import { startSimulator } from "../simulator/index.js";

/** A change made to the simulator's data or clock, in a form JSON can hold. */
export type Change =
  | { advance_ms: number }
  | { touch_repository: string }
  | { add_run: { slug: string; options: Omit<AddRunOptions, "createdOn"> & { createdOn?: string } } }
  | { finish_run: { slug: string; uuid: string; result: NonNullable<Parameters<Simulator["finishRun"]>[2]> } }
  | { rerun: { slug: string; uuid: string } };

/** simulator.json: how to rebuild the simulator as the golden next sync saw it. */
export interface SimulatorPlan {
  options: { seed: number; repositories: number; runsPerRepository: number; now: string };
  /** Every change, in order: those made before the state was written, then those after. */
  changes: { before_state: Change[]; after_state: Change[] };
  /** The connector's clock at the start of the next sync (the simulator's clock plus a minute). */
  connector_now: string;
}

/** config.json holds this in place of the simulator's address, which changes with every start. */
export const API_URL_PLACEHOLDER = "http://127.0.0.1:<simulator port>/2.0";
/** The connector's clock runs this far ahead of the simulator's, in every sync of a scenario. */
export const CONNECTOR_LEAD_MS = 60_000;

export const STREAM_KEYS: Record<string, string> = {
  repositories: "uuid",
  pipelines: "uuid",
  pipeline_steps: "uuid",
  environments: "uuid",
  deployments: "id",
};

export function applyChange(sim: Simulator, change: Change): void {
  if ("advance_ms" in change) sim.clock.advance(change.advance_ms);
  else if ("touch_repository" in change) sim.touchRepository(change.touch_repository);
  else if ("add_run" in change) {
    const { createdOn, ...options } = change.add_run.options;
    sim.addRun(change.add_run.slug, { ...options, ...(createdOn ? { createdOn: new Date(createdOn) } : {}) });
  } else if ("finish_run" in change) sim.finishRun(change.finish_run.slug, change.finish_run.uuid, change.finish_run.result);
  else sim.rerun(change.rerun.slug, change.rerun.uuid);
}

/** The simulator of a plan with every change applied: the data the golden next sync read. */
export async function startPlanned(plan: SimulatorPlan): Promise<Simulator> {
  const sim = await startSimulator({ ...plan.options, now: new Date(plan.options.now) });
  for (const change of [...plan.changes.before_state, ...plan.changes.after_state]) applyChange(sim, change);
  return sim;
}

/** A request without its method: the path and the query, keys sorted ("/2.0/…/pipelines/?page=1&pagelen=10"). */
export function requestLine(r: RequestLogEntry): string {
  const query = Object.keys(r.query)
    .sort()
    .flatMap((k) => r.query[k]!.map((v) => `${k}=${v}`));
  return query.length > 0 ? `${r.path}?${query.join("&")}` : r.path;
}

/** Each stream's record keys, sorted, a key emitted twice listed twice. */
export function recordKeys(messages: Message[]): Record<string, string[]> {
  const keys: Record<string, string[]> = {};
  for (const [stream, key] of Object.entries(STREAM_KEYS)) {
    const found = records(messages, stream).map((r) => String(r[key]));
    if (found.length > 0) keys[stream] = found.sort();
  }
  return keys;
}

export interface Sync extends InProcessResult {
  /** Sorted request lines. */
  requests: string[];
}

/** One `read` against the simulator, the connector's clock fixed at `nowMs`. */
export async function sync(
  sim: Simulator,
  files: { config: unknown; catalog: unknown; state?: unknown },
  nowMs: number,
): Promise<Sync> {
  const config = { ...(files.config as object), api_url: sim.url };
  const args = ["read", "--config", writeJson(config, "config"), "--catalog", writeJson(files.catalog, "catalog")];
  if (files.state !== undefined) args.push("--state", writeJson(files.state, "state"));
  const from = sim.requests.length;
  const result = await runInProcess(args, { nowMs });
  return { ...result, requests: sim.requests.slice(from).map(requestLine).sort() };
}
