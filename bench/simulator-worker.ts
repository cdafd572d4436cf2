// The simulator in a worker thread, so it runs on its own core instead of sharing the
// benchmark's event loop. The benchmark drives it with a few messages (see remote-simulator.ts).
import { parentPort, workerData } from "node:worker_threads";
import { type SimulatorOptions, startSimulator } from "../test/simulator/index.js";

const sim = await startSimulator(workerData as SimulatorOptions);
type Command =
  | { id: number; cmd: "requests" | "repositories" | "close" }
  | { id: number; cmd: "advance"; ms: number }
  | { id: number; cmd: "push"; slug: string };

parentPort!.on("message", async (message: Command) => {
  const reply = (value: unknown): void => parentPort!.postMessage({ id: message.id, value });
  switch (message.cmd) {
    case "requests":
      return reply(sim.requests.length);
    case "repositories":
      return reply(sim.repositories().map((r) => ({ slug: r.slug, uuid: r.uuid })));
    case "advance":
      sim.clock.advance(message.ms);
      return reply(null);
    case "push":
      // A push: updated_on moves and a run arrives.
      sim.touchRepository(message.slug);
      sim.addRun(message.slug, { state: "COMPLETED", result: "SUCCESSFUL" });
      return reply(null);
    case "close":
      await sim.close();
      reply(null);
      return parentPort!.close();
  }
});
parentPort!.postMessage({ id: 0, value: { url: sim.url, workspace: sim.workspace } });
