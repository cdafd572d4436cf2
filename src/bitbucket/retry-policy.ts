// How long to wait before a retry. Which failures are retried at all is the table in src/errors.ts.
// The real 429 has no Retry-After and counts a rolling hour (API notes §7), so its waits grow to
// minutes; 5xx and network errors recover faster. All waits come out of one budget (config
// max_retry_wait_seconds), so a sync fails clearly instead of hanging for hours.

import type { FAILURES, FailureKind } from "../errors.js";

/** The kinds of failure the client retries. */
export type RetryReason = { [K in FailureKind]: (typeof FAILURES)[K]["retry"] extends true ? K : never }[FailureKind];

const RATE_LIMIT_WAITS_S = [5, 15, 30, 60, 120, 300];
const OTHER_WAITS_S = [1, 2, 4, 8, 16, 30, 60];

/** Wait before the retry that follows `attempt` consecutive failures of this kind (1-based). */
export function backoffMs(reason: RetryReason, attempt: number, retryAfterS?: number): number {
  if (retryAfterS !== undefined && retryAfterS >= 0) return Math.min(retryAfterS, 3600) * 1000;
  const table = reason === "rate_limited" ? RATE_LIMIT_WAITS_S : OTHER_WAITS_S;
  return table[Math.min(attempt, table.length) - 1]! * 1000;
}

/** Retry-After as seconds (delta-seconds or an HTTP date), when present. */
export function parseRetryAfter(value: string | undefined, nowMs: number): number | undefined {
  if (!value) return undefined;
  if (/^\d+$/.test(value.trim())) return Number(value.trim());
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, Math.ceil((date - nowMs) / 1000));
}
