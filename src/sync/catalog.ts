// The configured catalog given to `read`: which streams, in which sync mode.
import { InputError } from "../errors.js";
import { findStream, STREAMS } from "../streams/index.js";
import type { Stream, SyncMode } from "../streams/stream.js";

export interface ConfiguredStream {
  stream: Stream;
  mode: SyncMode;
}

/** `notes`: what was read differently from what was asked, for an INFO log. */
export function parseCatalog(raw: unknown, notes: string[] = []): ConfiguredStream[] {
  const streams = (raw as { streams?: unknown } | null)?.streams;
  if (typeof raw !== "object" || raw === null || !Array.isArray(streams)) {
    throw new InputError('The catalog must be a ConfiguredAirbyteCatalog: an object with a "streams" list.');
  }
  const known = STREAMS.map((s) => s.name).join(", ");
  const seen = new Set<string>();
  return streams.map((entry, index) => {
    const e = entry as { stream?: { name?: unknown }; sync_mode?: unknown; cursor_field?: unknown } | null;
    const name = e?.stream?.name;
    if (typeof name !== "string") throw new InputError(`Catalog stream #${index + 1} has no stream.name.`);
    const stream = findStream(name);
    if (!stream) throw new InputError(`The catalog names an unknown stream "${name}". This source offers: ${known}.`);
    if (seen.has(name)) throw new InputError(`The catalog lists stream "${name}" twice.`);
    seen.add(name);
    const mode = e?.sync_mode;
    if (mode !== "full_refresh" && mode !== "incremental") {
      throw new InputError(
        `Catalog stream "${name}" has sync_mode ${JSON.stringify(mode ?? null)}; use full_refresh or incremental.`,
      );
    }
    if (mode === "incremental" && !stream.cursorField) {
      // PyAirbyte's read() asks every stream as incremental: a small full-refresh stream read in
      // full is what that user wants, not a refused catalog.
      notes.push(`Stream "${name}" supports only full_refresh; it is read in full although the catalog asks for incremental.`);
      return { stream, mode: "full_refresh" };
    }
    const cursor = e?.cursor_field;
    const given = Array.isArray(cursor) && cursor.length > 0 ? cursor : undefined;
    if (mode === "incremental" && given && (given.length !== 1 || given[0] !== stream.cursorField)) {
      throw new InputError(
        `Catalog stream "${name}" has cursor_field ${JSON.stringify(cursor)}; its cursor is defined by the source: ["${stream.cursorField}"].`,
      );
    }
    return { stream, mode: mode as SyncMode };
  });
}
