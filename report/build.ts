// `npm run report -- <folder>`: reads the connector's JSON-lines output in <folder>
// ({repositories,pipelines,pipeline_steps,environments,deployments,deployment_commits}.jsonl, any
// of them may be missing) and writes <folder>/report.html, one self-contained page with inline
// SVG charts: the four DORA keys per environment type and week, deployments per week per
// environment, change failure rate, run duration p50/p95 per repository, the most failing steps,
// and totals. Nothing is fetched when the page is viewed.
import { existsSync, statSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { loadDataset } from "./load.js";
import { renderPage } from "./page.js";

export interface BuildResult {
  path: string;
  runs: number;
  steps: number;
  deployments: number;
  repositories: number;
  deploymentCommits: number;
}

/** Reads `folder`, writes `folder/report.html` (or `out`) and returns what it wrote. */
export async function buildReport(folder: string, out = join(folder, "report.html")): Promise<BuildResult> {
  if (!existsSync(folder) || !statSync(folder).isDirectory()) throw new Error(`not a folder: ${folder}`);
  const data = await loadDataset(folder);
  writeFileSync(out, renderPage(data));
  return {
    path: out,
    runs: data.runs.size,
    steps: data.steps.size,
    deployments: data.deployments.size,
    repositories: data.repositories.size,
    deploymentCommits: data.deploymentCommits.size,
  };
}

async function main(argv: string[]): Promise<number> {
  const args = argv.filter((a) => a !== "--");
  if (args.includes("-h") || args.includes("--help") || args.length > 1) {
    process.stderr.write("usage: npm run report -- <folder with the connector's *.jsonl files>   (default: demo-output)\n");
    return args.length > 1 ? 2 : 0;
  }
  const folder = resolve(args[0] ?? "demo-output");
  try {
    const r = await buildReport(folder);
    process.stderr.write(
      `report: ${r.runs} runs, ${r.steps} steps, ${r.deployments} deployments, ${r.repositories} repositories, ${r.deploymentCommits} deployment commits -> ${r.path}\n`,
    );
    return 0;
  } catch (e) {
    process.stderr.write(`report: ${e instanceof Error ? e.message : String(e)}\n`);
    return 1;
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  process.exitCode = await main(process.argv.slice(2));
}
