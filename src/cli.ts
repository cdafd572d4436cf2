// The command line: parses arguments and dispatches to a command. Errors that reach here become
// one TRACE ERROR (config_error for bad input) and a non-zero exit code, never a bare stack trace.
import yargs from "yargs";
import { check } from "./commands/check.js";
import type { CommandDeps } from "./commands/deps.js";
import { discover } from "./commands/discover.js";
import { read } from "./commands/read.js";
import { spec } from "./commands/spec.js";
import { readShippedJson } from "./package-files.js";
import { errorText, traceOf } from "./protocol/messages.js";
import { OutputClosedError } from "./protocol/writer.js";

export const EXIT_USAGE = 2;

export async function runCli(argv: string[], deps: CommandDeps, stderr: (text: string) => void): Promise<number> {
  let usageError: string | undefined;
  const version = (readShippedJson("package.json") as { version: string }).version;
  const parsed = await yargs(argv)
    .scriptName("source-bitbucket-pipelines")
    .usage("$0 <command> [options]\n\nAirbyte source for Bitbucket Cloud repositories and Pipelines runs.")
    .command("spec", "Print the connector specification (SPEC message)")
    .command("check", "Check that the config can read the workspace (CONNECTION_STATUS)", (y) =>
      y.option("config", { type: "string", demandOption: true, requiresArg: true, describe: "Path to the config JSON" }),
    )
    .command("discover", "Print the streams this source offers (CATALOG)", (y) =>
      y.option("config", { type: "string", demandOption: true, requiresArg: true, describe: "Path to the config JSON" }),
    )
    .command("read", "Read records, STATE and statuses for a configured catalog", (y) =>
      y
        .option("config", { type: "string", demandOption: true, requiresArg: true, describe: "Path to the config JSON" })
        .option("catalog", {
          type: "string",
          demandOption: true,
          requiresArg: true,
          describe: "Path to the ConfiguredAirbyteCatalog JSON",
        })
        .option("state", { type: "string", requiresArg: true, describe: "Path to the state JSON (a list of STREAM states)" }),
    )
    .demandCommand(1, "Name a command: spec, check, discover or read.")
    .strict()
    .version(version)
    .help()
    .epilogue("Exit codes: 0 success (check also when FAILED), 1 the command failed (see the TRACE ERROR), 2 usage error.")
    .exitProcess(false)
    .fail((message, error) => {
      usageError = message || error?.message || "invalid arguments";
    })
    .parseAsync();
  const repeated = ["config", "catalog", "state"].find((name) => Array.isArray(parsed[name]));
  if (repeated && usageError === undefined) usageError = `--${repeated} is given more than once.`;
  if (usageError !== undefined) {
    stderr(`source-bitbucket-pipelines: ${usageError}\nRun with --help for usage.\n`);
    return EXIT_USAGE;
  }
  // yargs has printed the help or the version already.
  if (parsed.help || parsed.version) return 0;
  const command = String(parsed._[0] ?? "");
  const option = (name: string): string => String(parsed[name]);
  try {
    switch (command) {
      case "spec":
        return await spec(deps);
      case "check":
        return await check(option("config"), deps);
      case "discover":
        return await discover(option("config"), deps);
      case "read":
        return await read(
          {
            config: option("config"),
            catalog: option("catalog"),
            ...(parsed.state !== undefined ? { state: option("state") } : {}),
          },
          deps,
        );
      default:
        return 0; // --help and --version were answered by yargs
    }
  } catch (error) {
    if (error instanceof OutputClosedError || deps.out.closed) {
      stderr("source-bitbucket-pipelines: stdout was closed by its reader; stopping.\n");
      return 1;
    }
    await deps.out.write(traceOf(error, deps.now())).catch(() => undefined);
    stderr(`source-bitbucket-pipelines: ${errorText(error)}\n`);
    return 1;
  }
}
