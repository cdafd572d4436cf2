// Timestamp formats used by the real API (reference §2.4 and §4.1, quirk 7).

/** Repository style: "2025-07-21T13:14:31.013771+00:00" (microseconds, +00:00). `micros` is epoch microseconds. */
export function formatRepoTime(micros: number): string {
  const ms = Math.floor(micros / 1000);
  const extra = micros - ms * 1000;
  const iso = new Date(ms).toISOString(); // YYYY-MM-DDTHH:MM:SS.mmmZ
  return `${iso.slice(0, 23)}${String(extra).padStart(3, "0")}+00:00`;
}

/**
 * Pipeline style: "Z" with `digits` (3..9) fraction digits, e.g. "2025-03-04T10:15:22.481923Z".
 * `subMs` is the nanoseconds below the millisecond (0..999999).
 */
export function formatPipelineTime(ms: number, subMs: number, digits: number): string {
  const iso = new Date(ms).toISOString();
  const fraction = `${iso.slice(20, 23)}${String(subMs).padStart(6, "0")}`.slice(0, digits);
  return `${iso.slice(0, 19)}.${fraction}Z`;
}

const BBQL_DATETIME = /^(\d{4})-(\d{2})-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?)?(Z|[+-]\d{2}:?\d{2})?$/;

/** Parses a BBQL datetime (ISO-8601; time, fraction and offset optional, UTC when no offset) to epoch microseconds. */
export function parseBbqlDatetime(text: string): number | undefined {
  const m = BBQL_DATETIME.exec(text);
  if (!m) return undefined;
  const [, y, mo, d, h, mi, s, frac, offset] = m;
  const year = Number(y);
  const month = Number(mo);
  const day = Number(d);
  const hour = Number(h ?? "0");
  const minute = Number(mi ?? "0");
  const second = Number(s ?? "0");
  if (month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || minute > 59 || second > 59) return undefined;
  let ms = Date.UTC(year, month - 1, day, hour, minute, second);
  const check = new Date(ms);
  if (check.getUTCDate() !== day) return undefined; // e.g. Feb 30
  if (offset !== undefined && offset !== "Z") {
    const sign = offset.startsWith("-") ? -1 : 1;
    const digits = offset.slice(1).replace(":", "");
    const offMinutes = Number(digits.slice(0, 2)) * 60 + Number(digits.slice(2, 4));
    ms -= sign * offMinutes * 60_000;
  }
  const micros = Number((frac ?? "").padEnd(6, "0").slice(0, 6));
  return ms * 1000 + micros;
}
