// Stream `environments`: each repository's deployment environments (Test, Staging, Production…).
// Small, so full refresh; the listing is shared with the deployments stream's environment lookup.
import type { JsonObject } from "../protocol/messages.js";
import type { RepositoryStream } from "./stream.js";

export const environments: RepositoryStream = {
  kind: "repository",
  name: "environments",
  primaryKey: [["uuid"]],
  followsRuns: false,
  open: (data) => ({
    async *finish() {
      for (const raw of await data.list("/environments/")) {
        const environment = raw as JsonObject;
        if (typeof environment.uuid !== "string") continue;
        const type = environment.environment_type as { name?: unknown } | null | undefined;
        yield {
          ...environment,
          // Lower case, as deployments.environment_type, so the two join.
          environment_type_name: typeof type?.name === "string" ? type.name.toLowerCase() : null,
          repository_uuid: data.repo.uuid,
          repository_full_name: data.repo.full_name,
        };
      }
    },
  }),
};
