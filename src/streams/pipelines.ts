// Stream `pipelines`: every run of every repository in scope, newest first down to the cursor,
// plus the runs that changed since they were emitted (finished, or re-run within the look-back
// window). Which runs those are is the engine's business (sync/run-tracker.ts). Each record is
// the API's object plus the flat fields of flat-fields.ts.
import { runFields } from "./flat-fields.js";
import type { RepositoryStream } from "./stream.js";

export const pipelines: RepositoryStream = {
  kind: "repository",
  name: "pipelines",
  primaryKey: [["uuid"]],
  cursorField: "created_on",
  followsRuns: true,
  recordPerRun: true,
  open: (data) => ({
    onRun: (run) => [
      { ...run.raw, ...runFields(run.raw), repository_uuid: data.repo.uuid, repository_full_name: data.repo.full_name },
    ],
  }),
};
