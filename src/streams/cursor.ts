// Cursor values in state: kept as the string that was read or written (a cursor that did not
// move is echoed back in its own format), compared only after normalising (timestamps.ts).
import { normaliseTimestamp } from "../bitbucket/timestamps.js";
import { InputError } from "../errors.js";

/** The cursor `field` of a stream_state object, checked; undefined when absent. */
export function cursorFrom(state: unknown, field: string, stream: string): string | undefined {
  if (typeof state !== "object" || state === null || Array.isArray(state)) {
    throw new InputError(`The state of stream ${stream} must be a JSON object, not ${JSON.stringify(state)?.slice(0, 60)}.`);
  }
  const value = (state as Record<string, unknown>)[field];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== "string" || !normaliseTimestamp(value)) {
    throw new InputError(
      `The state of stream ${stream} has ${field} = ${JSON.stringify(value).slice(0, 60)}, which is not an ISO 8601 timestamp such as 2025-01-01T00:00:00.000Z.`,
    );
  }
  return value;
}

/** The later of two cursor strings (either may be undefined); ties keep the first one's format. */
export function laterCursor(a: string | undefined, b: string | undefined): string | undefined {
  if (a === undefined) return b;
  if (b === undefined) return a;
  if (a === b) return a;
  return normaliseTimestamp(b)! > normaliseTimestamp(a)! ? b : a;
}
