// Stream `pipelines`: every run of every repository in scope, newest first down to the cursor,
// plus the runs that changed since they were emitted (finished, or re-run within the look-back
// window). Which runs those are is the RunTracker's business (sync/run-tracker.ts).
import { runsStateParser } from "../sync/run-tracker.js";
import type { RepositoryStream } from "./stream.js";

export const pipelines: RepositoryStream = {
  kind: "repository",
  name: "pipelines",
  primaryKey: [["uuid"]],
  cursorField: "created_on",
  followsRuns: true,
  parseState: runsStateParser("pipelines", "created_on"),
  open: (pass) => ({
    onRun: (run) => [{ ...run.raw, repository_uuid: pass.repo.uuid, repository_full_name: pass.repo.full_name }],
  }),
};
