// Stream `deployments`: one record per deployment (deployment-records.ts says where they come
// from), with restored_after_seconds for failed production deployments (deployment-history.ts).
// A deployment appears or changes only when one of the repository's runs does, so the listings
// are read only in a pass where some run changed, and only deployments of changed runs are
// emitted, plus the failed ones of earlier syncs that a new success restores.

import { DeploymentHistory } from "./deployment-history.js";
import { type ChangedRun, changedRun, deploymentRecords } from "./deployment-records.js";
import type { RepositoryStream } from "./stream.js";

export const deployments: RepositoryStream = {
  kind: "repository",
  name: "deployments",
  primaryKey: [["id"]],
  cursorField: "pipeline_created_on",
  followsRuns: true,
  open: (data, memory) => {
    const changed = new Map<string, ChangedRun>();
    const history = new DeploymentHistory(memory, "deployments");
    return {
      onRun(run) {
        changed.set(run.uuid, changedRun(run));
        return undefined;
      },
      async *finish() {
        if (changed.size === 0) return;
        const records = await deploymentRecords(data, changed);
        const { restored } = history.apply(records);
        yield* records;
        yield* restored;
      },
      memory: () => history.toJson(),
    };
  },
};
