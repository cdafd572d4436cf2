// The queue of injected faults. Each fault consumes matching requests (after `skip` have passed) `times` times.

import type { Fault } from "./types.js";

interface Entry {
  fault: Fault;
  remaining: number;
  skip: number;
}

export class FaultQueue {
  private entries: Entry[] = [];

  add(fault: Fault): void {
    const times = fault.times ?? 1;
    const skip = fault.skip ?? 0;
    if (!Number.isInteger(times) || times < 1) throw new Error(`simulator: fault.times must be a positive integer, got ${times}`);
    if (!Number.isInteger(skip) || skip < 0) throw new Error(`simulator: fault.skip must be a non-negative integer, got ${skip}`);
    this.entries.push({ fault, remaining: times, skip });
  }

  clear(): void {
    this.entries = [];
  }

  /** The fault that applies to this request (path+query), consuming it; undefined for a normal response. */
  take(target: string): Fault | undefined {
    for (const entry of this.entries) {
      const re = entry.fault.match;
      if (re) {
        re.lastIndex = 0; // a /g or /y regexp must not carry state between requests
        if (!re.test(target)) continue;
      }
      if (entry.skip > 0) {
        entry.skip -= 1;
        continue;
      }
      entry.remaining -= 1;
      if (entry.remaining <= 0) this.entries = this.entries.filter((e) => e !== entry);
      return entry.fault;
    }
    return undefined;
  }
}
