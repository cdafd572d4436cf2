// The flat fields the connector appends to records (README "Streams"), written out here from the
// README's rules, for tests to compare against.
import type { Message } from "./protocol.js";

const str = (v: unknown): string | null => (typeof v === "string" ? v : null);

export function expectedStatus(state: Message | undefined | null): { status: string | null; result: string | null } {
  const status = str(state?.name);
  return { status, result: status === "COMPLETED" ? str(state?.result?.name) : str(state?.stage?.name) };
}

export function expectedRunFields(run: Message): Message {
  return {
    ...expectedStatus(run.state),
    trigger_type: str(run.trigger?.name) ?? str(run.trigger?.type)?.replace("pipeline_trigger_", "").toUpperCase() ?? null,
    ref_type: str(run.target?.ref_type),
    ref_name: str(run.target?.ref_name),
    selector_type: str(run.target?.selector?.type),
    selector_pattern: str(run.target?.selector?.pattern),
    commit_hash: str(run.target?.commit?.hash),
  };
}

export function expectedEnvironmentFields(environment: Message): Message {
  return { environment_type_name: str(environment.environment_type?.name)?.toLowerCase() ?? null };
}
