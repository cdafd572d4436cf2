// A record is the API's object plus a few fields of ours. When the object came from a page, the
// record is the text the API sent with those fields appended: serialising every run again would
// cost about as much CPU as parsing it did.
import { sourceText } from "../bitbucket/json-body.js";
import { type JsonObject, JsonText, type RecordData } from "../protocol/messages.js";

/** `raw` with `fields` added (they win over the API's own, as in an object spread). */
export function recordOf(raw: JsonObject, fields: Record<string, string> = {}): RecordData {
  const text = sourceText(raw);
  // A line break in the text is whitespace between tokens: it would split the output line.
  if (text === undefined || text.includes("\n") || text.includes("\r") || Object.keys(fields).some((k) => k in raw)) {
    return { ...raw, ...fields };
  }
  const extra = JSON.stringify(fields);
  if (extra === "{}") return new JsonText(text);
  const open = text.slice(0, text.lastIndexOf("}")).trimEnd();
  return new JsonText(`${open}${open.endsWith("{") ? "" : ","}${extra.slice(1)}`);
}
