// Bitbucket writes timestamps as Z or +00:00 with 0 to 9 fraction digits (API notes, quirk 7).
// Cursors are compared as strings, so every timestamp is first brought to one fixed form:
// UTC, nine fraction digits, "Z" (e.g. 2025-03-04T10:15:22.481923000Z).
const ISO = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,9}))?)?(Z|[+-]\d{2}(?::?\d{2})?)?)?$/i;

// The forms Bitbucket writes, already in UTC: only the fraction needs padding (fast path).
const UTC = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.(\d{1,9}))?(?:Z|\+00:00)$/;

export function normaliseTimestamp(value: string): string | undefined {
  const fast = UTC.exec(value);
  if (
    fast &&
    value.slice(5, 7) <= "12" &&
    value.slice(8, 10) <= "28" &&
    value.slice(11, 13) <= "23" &&
    value.slice(14, 16) <= "59" &&
    value.slice(17, 19) <= "59"
  ) {
    return `${value.slice(0, 19)}.${(fast[1] ?? "").padEnd(9, "0")}Z`;
  }
  const m = ISO.exec(value.trim());
  if (!m) return undefined;
  const [, y, mo, d, h = "00", mi = "00", s = "00", fraction = "", zone = "Z"] = m;
  const seconds = Date.UTC(+y!, +mo! - 1, +d!, +h, +mi, +s);
  const check = new Date(seconds);
  if (Number.isNaN(seconds) || check.getUTCDate() !== +d! || check.getUTCMonth() !== +mo! - 1 || +h > 23 || +mi > 59 || +s > 59) {
    return undefined;
  }
  let offsetMinutes = 0;
  if (zone.toUpperCase() !== "Z") {
    const sign = zone.startsWith("-") ? -1 : 1;
    const digits = zone.slice(1).replace(":", "");
    offsetMinutes = sign * (Number(digits.slice(0, 2)) * 60 + Number(digits.slice(2, 4) || "0"));
  }
  const utc = new Date(seconds - offsetMinutes * 60_000).toISOString().slice(0, 19);
  return `${utc}.${fraction.padEnd(9, "0")}Z`;
}

/** Milliseconds since the epoch of a normalised timestamp. */
export function timestampMillis(normalised: string): number {
  return Date.parse(normalised.slice(0, 23) + "Z");
}

export function timestampFromMillis(ms: number): string {
  return new Date(ms).toISOString().slice(0, 23) + "000000Z";
}

/** Seconds from one timestamp to another, to the millisecond; null when either is missing or unreadable. */
export function secondsBetween(start: string | undefined, end: string | undefined): number | null {
  if (!start || !end) return null;
  const seconds = (Date.parse(end) - Date.parse(start)) / 1000;
  return Number.isFinite(seconds) ? Math.round(seconds * 1000) / 1000 : null;
}
