// Input state (--state): the platform's array of per-stream STATE messages. An empty file, []
// or {} mean a fresh read; a stream_state of null resets that stream. (A --state path that does
// not exist is an error, raised where the file is read: a typo must not re-read everything.)
import { InputError } from "../errors.js";
import type { JsonObject } from "../protocol/messages.js";

export interface InputState {
  streams: Map<string, unknown>;
}

export function parseInputState(raw: unknown): InputState {
  const streams = new Map<string, unknown>();
  if (raw === null || raw === undefined) return { streams };
  if (!Array.isArray(raw)) {
    if (typeof raw === "object" && Object.keys(raw).length === 0) return { streams };
    throw new InputError(
      typeof raw === "object"
        ? 'The state file holds a single object (the legacy state form). Give a list of per-stream states: [{"type": "STREAM", "stream": {"stream_descriptor": {"name": "pipelines"}, "stream_state": {…}}}].'
        : `The state file must hold a list of per-stream STATE messages, not ${JSON.stringify(raw).slice(0, 40)}.`,
    );
  }
  raw.forEach((entry, index) => {
    const e = entry as { type?: unknown; stream?: { stream_descriptor?: { name?: unknown }; stream_state?: unknown } } | null;
    if (!e || typeof e !== "object") throw new InputError(`State entry #${index + 1} is not an object.`);
    if (e.type !== undefined && e.type !== "STREAM") {
      throw new InputError(
        `State entry #${index + 1} has type ${JSON.stringify(e.type)}; this source reads only per-stream (STREAM) state.`,
      );
    }
    const name = e.stream?.stream_descriptor?.name;
    if (typeof name !== "string") {
      throw new InputError(`State entry #${index + 1} has no stream.stream_descriptor.name (legacy state is not supported).`);
    }
    const state = e.stream?.stream_state;
    if (state === null || state === undefined) return;
    streams.set(name, state as JsonObject);
  });
  return { streams };
}
