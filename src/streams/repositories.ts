// Stream `repositories`: the workspace's repositories (or the config's slugs). Incremental reads
// ask the server only for repositories updated since the cursor (BBQL on updated_on), newest
// first so that a repository updated mid-walk shifts rows down (a duplicate) rather than up (a
// loss); the cursor is therefore saved once, at the end.
import { normaliseTimestamp } from "../bitbucket/timestamps.js";
import type { JsonObject } from "../protocol/messages.js";
import { workspaceRepositories, toRepositoryRef } from "./repository-scope.js";
import { cursorFrom, laterCursor } from "./cursor.js";
import type { Stream } from "./stream.js";

export const repositories: Stream = {
  name: "repositories",
  primaryKey: [["uuid"]],
  cursorField: "updated_on",

  parseState(state) {
    return { ...(cursorFrom(state, "updated_on", "repositories") ? { updated_on: (state as JsonObject).updated_on } : {}) };
  },

  async *read(ctx, mode, state) {
    const cursor = mode === "incremental" ? (state?.updated_on as string | undefined) : undefined;
    const since = cursor ? normaliseTimestamp(cursor) : undefined;
    const query = since
      ? { q: `updated_on>=${since.slice(0, 23)}+00:00`, sort: "-updated_on" }
      : { sort: "-updated_on" };
    const wanted = ctx.config.repositories?.map((s) => s.toLowerCase());
    let newest = cursor;
    for await (const values of workspaceRepositories(ctx.client, ctx.config, query)) {
      for (const raw of values) {
        const ref = toRepositoryRef(raw);
        if (!ref || (wanted && !wanted.includes(ref.slug.toLowerCase()))) continue;
        const updated = (raw as { updated_on?: unknown }).updated_on;
        const updatedOn = typeof updated === "string" ? normaliseTimestamp(updated) : undefined;
        if (since && updatedOn && updatedOn <= since) continue;
        if (updatedOn) newest = laterCursor(newest, updatedOn);
        yield { record: raw as JsonObject };
      }
    }
    yield { checkpoint: newest ? { updated_on: newest } : {} };
  },
};
