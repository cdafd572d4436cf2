// Drives the simulator running in bench/simulator-worker.ts.
import { Worker } from "node:worker_threads";
import type { SimulatorOptions } from "../test/simulator/index.js";

export class RemoteSimulator {
  private nextId = 1;
  private readonly pending = new Map<number, (value: unknown) => void>();

  private constructor(
    private readonly worker: Worker,
    readonly url: string,
    readonly workspace: string,
  ) {
    worker.on("message", ({ id, value }: { id: number; value: unknown }) => {
      this.pending.get(id)?.(value);
      this.pending.delete(id);
    });
  }

  static start(options: SimulatorOptions): Promise<RemoteSimulator> {
    const worker = new Worker(new URL("./simulator-worker.mjs", import.meta.url), { workerData: options });
    return new Promise((resolve, reject) => {
      worker.once("error", reject);
      worker.once("message", ({ value }: { value: { url: string; workspace: string } }) =>
        resolve(new RemoteSimulator(worker, value.url, value.workspace)),
      );
    });
  }

  private call<T>(message: Record<string, unknown>): Promise<T> {
    const id = this.nextId++;
    return new Promise((resolve) => {
      this.pending.set(id, resolve as (value: unknown) => void);
      this.worker.postMessage({ id, ...message });
    });
  }

  requestCount = (): Promise<number> => this.call({ cmd: "requests" });
  repositories = (): Promise<{ slug: string; uuid: string }[]> => this.call({ cmd: "repositories" });
  advance = (ms: number): Promise<void> => this.call({ cmd: "advance", ms });
  push = (slug: string): Promise<void> => this.call({ cmd: "push", slug });
  close = (): Promise<void> => this.call({ cmd: "close" });
}
