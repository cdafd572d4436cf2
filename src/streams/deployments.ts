// Stream `deployments`: one record per deployment (deployment-records.ts says where they come
// from), with restored_after_seconds for failed production deployments (deployment-history.ts).
// A deployment appears or changes only when one of the repository's runs does, so the listings
// are read only in a pass where some run changed, and only deployments of changed runs are
// emitted, plus the failed ones of earlier syncs that a new success restores.
import { deploymentsReader } from "./deployment-records.js";
import type { RepositoryStream } from "./stream.js";

export const deployments: RepositoryStream = {
  kind: "repository",
  name: "deployments",
  primaryKey: [["id"]],
  cursorField: "pipeline_created_on",
  followsRuns: true,
  open: (data, memory) =>
    deploymentsReader(data, memory, "deployments", async function* (records, history) {
      const { restored } = history.apply(records);
      yield* records;
      yield* restored;
    }),
};
