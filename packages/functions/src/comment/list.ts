import * as Comment from "@shop/core/comment";
import { PageOf } from "@shop/core/pagination";
import { api, json } from "../lib/api.ts";
import { RowPath } from "../lib/paths.ts";

/** GET /api/rows/{row_id}/comments: the row's comments, oldest first, keyset-paginated. */
export const handler = api({ auth: "user", path: RowPath, query: Comment.ListQuery, responses: { 200: PageOf(Comment.Info) }, errors: [404] }, async ({ actor, path, query }) =>
  json(200, await Comment.list(actor.userId, path.row_id, query)),
);
