// A record is the API's object plus a few fields of ours. When the object came from a page, the
// record is the bytes the API sent with those fields appended: parsing every run and serialising
// it again would cost several times what the rest of a sync does.
import { JsonItem, sourceOf } from "../bitbucket/json-body.js";
import { type JsonObject, JsonText, type RecordData } from "../protocol/messages.js";

/** Makes records of API objects with `fields` added (they win over the API's own, as in an object spread). */
export function recordsWith(fields: Record<string, string> = {}): (source: JsonObject | JsonItem) => RecordData {
  const names = Object.keys(fields);
  const extra = JSON.stringify(fields).slice(1, -1);
  return (source) => {
    const item = source instanceof JsonItem ? source : sourceOf(source);
    // A line break between tokens would split the output line; a field of the same name would
    // be a duplicate key.
    if (item === undefined || item.lineBreaks || names.some((name) => item.has(name))) {
      return { ...(source instanceof JsonItem ? source.value() : source), ...fields };
    }
    if (names.length === 0) return new JsonText(item.bytes());
    // Up to the item's closing brace, then ours.
    return new JsonText(item.bytes(item.end - 1), item.memberCount > 0 ? `,${extra}}` : `${extra}}`);
  };
}
