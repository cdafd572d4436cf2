// Configs pointing at a running simulator, for either auth method.
import type { Simulator } from "../simulator/index.js";
import { writeJson } from "./files.js";

export const BEARER = { auth_type: "bearer", token: "sim-token" } as const;
export const BASIC = { auth_type: "basic", email: "dev@example.com", api_token: "sim-api-token" } as const;
export const SECRETS = ["sim-token", "sim-api-token", Buffer.from("dev@example.com:sim-api-token").toString("base64")];

export function simConfig(sim: Simulator, overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return { workspace: sim.workspace, credentials: BEARER, api_url: sim.url, ...overrides };
}

export function simConfigFile(sim: Simulator, overrides: Record<string, unknown> = {}): string {
  return writeJson(simConfig(sim, overrides), "config");
}
