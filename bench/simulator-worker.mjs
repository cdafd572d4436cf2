// Worker entry: load the TypeScript worker through tsx (Node 20 workers ignore --import).
import { tsImport } from "tsx/esm/api";

await tsImport("./simulator-worker.ts", import.meta.url);
