// Writes the golden inputs of test/golden-states.test.ts: per scenario, a state written by release
// 0.1.0 and what the next sync that reads it asks and emits. Run once, at the release:
//   node --import tsx test/golden/make.ts && npx biome check --write test/golden
// The files are committed and never regenerated: the code after 0.1.0 must read these states
// and make the same requests. An existing scenario folder is left alone.
import assert from "node:assert/strict";
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { type Message, stateFileFrom } from "../helpers/protocol.js";
import { BEARER } from "../helpers/sim-config.js";
import { type Simulator, startSimulator } from "../simulator/index.js";
import {
  API_URL_PLACEHOLDER,
  applyChange,
  type Change,
  CONNECTOR_LEAD_MS,
  recordKeys,
  type SimulatorPlan,
  sync,
} from "./replay.js";

const NOW = "2025-06-02T12:00:00.000Z";
const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const at = (fromNow: number): string => new Date(Date.parse(NOW) + fromNow).toISOString();

/** One scenario's simulator, with every change made to it noted for simulator.json. */
class Session {
  readonly changes: SimulatorPlan["changes"] = { before_state: [], after_state: [] };
  private stateWritten = false;
  constructor(
    readonly sim: Simulator,
    readonly files: { config: unknown; catalog: unknown },
  ) {}
  change(change: Change): void {
    applyChange(this.sim, change);
    this.changes[this.stateWritten ? "after_state" : "before_state"].push(change);
  }
  async read(state?: unknown): Promise<Message[]> {
    const result = await sync(this.sim, { ...this.files, state }, this.sim.clock.now().getTime() + CONNECTOR_LEAD_MS);
    assert.equal(result.code, 0, result.stderr);
    return result.messages;
  }
  stateDone(): void {
    this.stateWritten = true;
  }
  slug(index: number): string {
    return this.sim.repositories()[index]!.slug;
  }
  unfinished(slug: string): string[] {
    return this.sim
      .runs(slug)
      .filter((r) => r.state.name !== "COMPLETED")
      .map((r) => r.uuid);
  }
}

interface Scenario {
  name: string;
  options: Omit<SimulatorPlan["options"], "now">;
  config: Record<string, unknown>;
  streams: string[];
  /** Syncs (and changes) up to the golden state, which it returns. */
  state(s: Session): Promise<unknown>;
  /** Changes between the golden state and the next sync. */
  after(s: Session): void;
}

const SCENARIOS: Scenario[] = [
  {
    name: "all-streams",
    options: { seed: 13, repositories: 4, runsPerRepository: 30 },
    config: { page_size: 5 },
    streams: ["repositories", "pipelines", "pipeline_steps", "environments", "deployments"],
    // A first full read. Watched in its state: the unfinished runs of three repositories, one
    // paused 20 days ago (pages below the cursor: fetched by uuid), and a failed run inside the
    // look-back window.
    async state(s) {
      s.change({ add_run: { slug: s.slug(1), options: { state: "PAUSED", createdOn: at(-20 * 24 * HOUR) } } });
      s.change({ add_run: { slug: s.slug(3), options: { result: "FAILED", createdOn: at(-2 * HOUR) } } });
      return stateFileFrom(await s.read());
    },
    // Runs finish (one reached by the walk, one fetched by uuid), a failed run is re-run, new
    // runs arrive, a repository is pushed to.
    after(s) {
      s.change({ advance_ms: 20 * MINUTE });
      s.change({ finish_run: { slug: s.slug(0), uuid: s.unfinished(s.slug(0))[0]!, result: "SUCCESSFUL" } });
      s.change({ finish_run: { slug: s.slug(1), uuid: s.unfinished(s.slug(1))[0]!, result: "STOPPED" } });
      const failed = s.sim.runs(s.slug(3)).filter((r) => r.state.result?.name === "FAILED");
      s.change({ rerun: { slug: s.slug(3), uuid: failed.at(-1)!.uuid } });
      s.change({ touch_repository: s.slug(1) });
      s.change({ add_run: { slug: s.slug(1), options: { deploy: "production" } } });
      s.change({ add_run: { slug: s.slug(2), options: { result: "FAILED" } } });
    },
  },
  {
    name: "partial",
    options: { seed: 8, repositories: 2, runsPerRepository: 60 },
    // One request a minute: a repository's steps take an hour, so STATEs come from inside it.
    config: { page_size: 10, max_requests_per_hour: 60 },
    streams: ["pipelines", "pipeline_steps", "deployments"],
    async state(s) {
      const messages = await s.read();
      const partialAt = messages.flatMap((m, i) => {
        const entries = m.type === "STATE" ? Object.values(m.state.stream.stream_state.repositories ?? {}) : [];
        return entries.some((e) => (e as { partial?: unknown }).partial) ? [i] : [];
      });
      assert.ok(partialAt.length >= 2, `${partialAt.length} STATEs with a partial entry`);
      // A sync stopped right after its second STATE from inside a repository.
      return stateFileFrom(messages.slice(0, partialAt[1]! + 1));
    },
    after(s) {
      s.change({ advance_ms: 10 * MINUTE });
      s.change({ add_run: { slug: s.slug(0), options: { result: "SUCCESSFUL" } } });
    },
  },
  {
    name: "idle-polling",
    options: { seed: 21, repositories: 6, runsPerRepository: 12 },
    config: { idle_repository_poll_hours: 6 },
    streams: ["pipelines", "pipeline_steps", "environments"],
    // Polled at T0; at T0+4h the second sync polls only a pushed-to repository and those with
    // unfinished runs: the state holds polled_at from both syncs.
    async state(s) {
      const first = await s.read();
      s.change({ advance_ms: 4 * HOUR });
      s.change({ touch_repository: settled(s, 0) });
      s.change({ add_run: { slug: settled(s, 0), options: { result: "SUCCESSFUL" } } });
      return stateFileFrom(await s.read(stateFileFrom(first)));
    },
    // At T0+7h: the repositories polled at T0 are due; the one pushed to at T0+4h is not, so
    // its new scheduled run waits.
    after(s) {
      s.change({ advance_ms: 3 * HOUR });
      s.change({ add_run: { slug: settled(s, 0), options: { trigger: "schedule", result: "SUCCESSFUL" } } });
      s.change({ add_run: { slug: settled(s, 1), options: { trigger: "schedule", result: "FAILED" } } });
    },
  },
  {
    name: "bare-cursor",
    options: { seed: 5, repositories: 3, runsPerRepository: 20 },
    config: {},
    streams: ["pipelines"],
    // The cursor alone, as older states held it: it applies to every repository. Written with
    // +00:00 and milliseconds, forms the release accepts.
    async state(s) {
      const cursor = new Date(s.sim.runs(s.slug(0))[10]!.created_on).toISOString().replace("Z", "+00:00");
      return [{ type: "STREAM", stream: { stream_descriptor: { name: "pipelines" }, stream_state: { created_on: cursor } } }];
    },
    after(s) {
      s.change({ advance_ms: 5 * MINUTE });
      s.change({ add_run: { slug: s.slug(2), options: { state: "IN_PROGRESS" } } });
    },
  },
];

/** The n-th repository (in listing order) without unfinished runs: idle polling may skip it. */
function settled(s: Session, n: number): string {
  const slugs = s.sim.repositories().map((r) => r.slug);
  return slugs.filter((slug) => s.unfinished(slug).length === 0)[n]!;
}

function catalogOf(streams: string[]): unknown {
  return {
    streams: streams.map((name) => {
      const full = name === "environments";
      return {
        stream: { name, json_schema: {}, supported_sync_modes: full ? ["full_refresh"] : ["full_refresh", "incremental"] },
        sync_mode: full ? "full_refresh" : "incremental",
        destination_sync_mode: full ? "overwrite" : "append_dedup",
      };
    }),
  };
}

for (const scenario of SCENARIOS) {
  const dir = new URL(`./0.1.0/${scenario.name}/`, import.meta.url);
  if (existsSync(dir)) {
    console.log(`${scenario.name}: exists, left alone`);
    continue;
  }
  const options = { ...scenario.options, now: NOW };
  const config = { workspace: "acme", credentials: BEARER, api_url: API_URL_PLACEHOLDER, ...scenario.config };
  const catalog = catalogOf(scenario.streams);
  const s = new Session(await startSimulator({ ...options, now: new Date(NOW) }), { config, catalog });
  const state = await scenario.state(s);
  s.stateDone();
  scenario.after(s);
  const nowMs = s.sim.clock.now().getTime() + CONNECTOR_LEAD_MS;
  const next = await sync(s.sim, { config, catalog, state }, nowMs);
  assert.equal(next.code, 0, next.stderr);
  await s.sim.close();
  const plan: SimulatorPlan = { options, changes: s.changes, connector_now: new Date(nowMs).toISOString() };
  const files = { config, catalog, state, simulator: plan, requests: next.requests, records: recordKeys(next.messages) };
  mkdirSync(dir, { recursive: true });
  for (const [name, value] of Object.entries(files))
    writeFileSync(new URL(`${name}.json`, dir), `${JSON.stringify(value, null, 2)}\n`);
  const counts = Object.entries(files.records).map(([k, v]) => `${k} ${v.length}`);
  console.log(`${scenario.name}: ${next.requests.length} requests; records: ${counts.join(", ")}`);
}
