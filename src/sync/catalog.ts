// The configured catalog given to `read`: which streams, in which sync mode.
import { InputError } from "../errors.js";
import { findStream, STREAMS } from "../streams/index.js";
import type { Stream, SyncMode } from "../streams/stream.js";

export interface ConfiguredStream {
  stream: Stream;
  mode: SyncMode;
}

export function parseCatalog(raw: unknown): ConfiguredStream[] {
  const streams = (raw as { streams?: unknown } | null)?.streams;
  if (typeof raw !== "object" || raw === null || !Array.isArray(streams)) {
    throw new InputError('The catalog must be a ConfiguredAirbyteCatalog: an object with a "streams" list.');
  }
  const known = STREAMS.map((s) => s.name).join(", ");
  const seen = new Set<string>();
  return streams.map((entry, index) => {
    const e = entry as { stream?: { name?: unknown }; sync_mode?: unknown } | null;
    const name = e?.stream?.name;
    if (typeof name !== "string") throw new InputError(`Catalog stream #${index + 1} has no stream.name.`);
    const stream = findStream(name);
    if (!stream) throw new InputError(`The catalog names an unknown stream "${name}". This source offers: ${known}.`);
    if (seen.has(name)) throw new InputError(`The catalog lists stream "${name}" twice.`);
    seen.add(name);
    const mode = e?.sync_mode;
    const supported = stream.cursorField ? ["full_refresh", "incremental"] : ["full_refresh"];
    if (typeof mode !== "string" || !supported.includes(mode)) {
      throw new InputError(
        `Catalog stream "${name}" has sync_mode ${JSON.stringify(mode ?? null)}; it supports ${supported.join(", ")}.`,
      );
    }
    return { stream, mode: mode as SyncMode };
  });
}
