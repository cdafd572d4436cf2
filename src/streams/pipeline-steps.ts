// Stream `pipeline_steps`: the steps of each run the stream acts on (new since its cursor, or
// changed since it was read: finished, re-run). One request per run is the API's price, so a run
// whose steps were read finished is not asked again. Build scripts (the *_commands arrays) are
// the team's source code: left out, by the API (`fields`) and here, unless include_step_commands.
import type { JsonObject } from "../protocol/messages.js";
import { statusFields } from "./flat-fields.js";
import type { RepositoryStream } from "./stream.js";

const COMMANDS = ["setup_commands", "script_commands", "teardown_commands"] as const;

export const pipelineSteps: RepositoryStream = {
  kind: "repository",
  name: "pipeline_steps",
  primaryKey: [["uuid"]],
  cursorField: "pipeline_created_on",
  followsRuns: true,
  open: (data) => {
    const withCommands = data.config.includeStepCommands;
    const query = withCommands ? {} : { fields: COMMANDS.map((c) => `-values.${c}`).join(",") };
    return {
      async *onRun(run) {
        for await (const raw of data.each(`/pipelines/${encodeURIComponent(run.uuid)}/steps/`, query)) {
          const step = raw as JsonObject;
          if (typeof step.uuid !== "string") continue;
          if (!withCommands) for (const c of COMMANDS) delete step[c];
          yield Object.assign(step, {
            ...statusFields(step.state),
            pipeline_uuid: run.uuid,
            pipeline_created_on: run.raw.created_on ?? null,
            repository_uuid: data.repo.uuid,
            repository_full_name: data.repo.full_name,
          });
        }
      },
    };
  },
};
