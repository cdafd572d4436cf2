// Flat fields appended to records for analysis, so a query needs no JSON digging: the API's own
// object stays as it is beside them.
import type { JsonObject } from "../protocol/messages.js";

interface ApiState {
  name?: unknown;
  stage?: { name?: unknown } | null;
  result?: { name?: unknown } | null;
}

const text = (value: unknown): string | null => (typeof value === "string" ? value : null);

/** status: state.name; result: state.result.name when COMPLETED, else state.stage.name, else null. */
export function statusFields(state: unknown): { status: string | null; result: string | null } {
  const s = (state ?? {}) as ApiState;
  const status = text(s.name);
  const result = status === "COMPLETED" ? text(s.result?.name) : text(s.stage?.name);
  return { status, result };
}

/** A run's status, result, trigger and target, flat. */
export function runFields(run: JsonObject): JsonObject {
  const trigger = (run.trigger ?? {}) as { name?: unknown; type?: unknown };
  const target = (run.target ?? {}) as {
    ref_type?: unknown;
    ref_name?: unknown;
    selector?: { type?: unknown; pattern?: unknown } | null;
    commit?: { hash?: unknown } | null;
  };
  // Older payloads carry only the type (pipeline_trigger_push): its last word is the name.
  const triggerType =
    text(trigger.name) ??
    text(trigger.type)
      ?.replace(/^pipeline_trigger_/, "")
      .toUpperCase() ??
    null;
  return {
    ...statusFields(run.state),
    trigger_type: triggerType,
    ref_type: text(target.ref_type),
    ref_name: text(target.ref_name),
    selector_type: text(target.selector?.type),
    selector_pattern: text(target.selector?.pattern),
    commit_hash: text(target.commit?.hash),
  };
}
