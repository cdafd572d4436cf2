// Every stream the connector offers, and its schema from schemas/<name>.json.

import { readShippedJson } from "../package-files.js";
import type { AirbyteStream, JsonObject } from "../protocol/messages.js";
import { deploymentCommits } from "./deployment-commits.js";
import { deployments } from "./deployments.js";
import { environments } from "./environments.js";
import { pipelineSteps } from "./pipeline-steps.js";
import { pipelines } from "./pipelines.js";
import { repositories } from "./repositories.js";
import type { Stream } from "./stream.js";

export const STREAMS: readonly Stream[] = [repositories, pipelines, pipelineSteps, environments, deployments, deploymentCommits];

export function findStream(name: string): Stream | undefined {
  return STREAMS.find((s) => s.name === name);
}

export function schemaOf(stream: Stream): JsonObject {
  return readShippedJson(`schemas/${stream.name}.json`) as JsonObject;
}

export function airbyteStream(stream: Stream): AirbyteStream {
  const base = { name: stream.name, json_schema: schemaOf(stream), source_defined_primary_key: stream.primaryKey };
  if (!stream.cursorField) return { ...base, supported_sync_modes: ["full_refresh"] };
  return {
    ...base,
    supported_sync_modes: ["full_refresh", "incremental"],
    source_defined_cursor: true,
    default_cursor_field: [stream.cursorField],
    is_resumable: true,
  };
}
