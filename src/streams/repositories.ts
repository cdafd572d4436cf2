// Stream `repositories`: the workspace's repositories (or the config's slugs, or this shard's).
// Incremental reads ask the server only for repositories updated since the cursor (BBQL on
// updated_on), newest first so that a repository updated mid-walk shifts rows down (a duplicate)
// rather than up (a loss); the cursor is therefore saved once, at the end.
import { normaliseTimestamp } from "../bitbucket/timestamps.js";
import type { JsonObject } from "../protocol/messages.js";
import { cursorFrom, laterCursor } from "./cursor.js";
import { toRepositoryRef, workspaceRepositories } from "./repository-scope.js";
import type { WorkspaceStream } from "./stream.js";

export const repositories: WorkspaceStream = {
  kind: "workspace",
  name: "repositories",
  primaryKey: [["uuid"]],
  cursorField: "updated_on",

  parseState(state) {
    return { ...(cursorFrom(state, "updated_on", "repositories") ? { updated_on: (state as JsonObject).updated_on } : {}) };
  },

  takesListing: (mode, state) => mode === "full_refresh" || !state?.updated_on,

  async *read(ctx, mode, state) {
    const cursor = mode === "incremental" ? (state?.updated_on as string | undefined) : undefined;
    const since = cursor ? normaliseTimestamp(cursor) : undefined;
    let newest = cursor;
    // A full read shares the listing the pipelines stream needs anyway: no request twice.
    const pages = since
      ? workspaceRepositories(ctx.client, ctx.config, { q: `updated_on>=${since.slice(0, 23)}+00:00`, sort: "-updated_on" })
      : (async function* () {
          yield await ctx.scope.takeRaw();
        })();
    for await (const values of pages) {
      const records: JsonObject[] = [];
      for (const raw of values) {
        const ref = toRepositoryRef(raw);
        if (!ref || !ctx.scope.includes(ref)) continue;
        if (since && ref.updatedOn && ref.updatedOn <= since) continue;
        if (ref.updatedOn) newest = laterCursor(newest, ref.updatedOn);
        records.push(raw as JsonObject);
      }
      if (records.length > 0) yield { records };
    }
    yield { checkpoint: newest ? { updated_on: newest } : {} };
  },
};
