// V8 settings for a long read that streams hundreds of megabytes through a small live heap
// (about 20 MB). Node's defaults suit servers with memory to spare; here they more than double
// the peak RSS (about 200 MB against 100 MB with these, for 100,000 runs).
// They can only be set from inside the process, after start-up. Node warns that a flag changed
// then may do nothing or worse, so each of these is a plain value V8 reads when it uses it:
// - Liftoff only for WebAssembly: undici's HTTP parser (llhttp) is WebAssembly, and optimising
//   it takes about 35 MB of compiler memory once, for no measurable gain on this workload.
// - The old generation grows by 20% past what survived the last full GC (V8 picks up to 4x):
//   what piles up there is short-lived records promoted by chance, not a growing live set.
// - The young generation stops growing at 8 MB (V8's default goes to 32 MB): it cannot be
//   capped after start-up, so after each GC its growth factor is set to 1 once one more
//   doubling would pass the cap, and back to V8's 2 when V8 has shrunk it (after an idle
//   spell such as a long rate-limit pause). Measured on a 100,000-run read against 16 MB: half
//   the full GCs for twice the (cheap) young ones, 7 MB less peak RSS, the same CPU time.
import { PerformanceObserver } from "node:perf_hooks";
import { getHeapSpaceStatistics, setFlagsFromString } from "node:v8";

const YOUNG_GENERATION_BYTES = 8 * 1024 * 1024;

export function tuneMemory(): void {
  setFlagsFromString("--liftoff-only");
  setFlagsFromString("--heap-growing-percent=20");
  let capped = false;
  const capYoungGeneration = (): void => {
    const young = getHeapSpaceStatistics().find((s) => s.space_name === "new_space");
    const full = young !== undefined && young.space_size * 2 > YOUNG_GENERATION_BYTES;
    if (full !== capped) {
      setFlagsFromString(`--semi-space-growth-factor=${full ? 1 : 2}`);
      capped = full;
    }
  };
  capYoungGeneration();
  new PerformanceObserver(capYoungGeneration).observe({ entryTypes: ["gc"] });
}
